"""What the pipeline is told and what it promises: params.yaml's typed sections and the output-file contract."""
