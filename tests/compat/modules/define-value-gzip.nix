{ value = "gzip"; }
