import ./no-default-dir
