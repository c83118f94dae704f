import ./lib/sub
