# A cyclic value is a controlled "stack overflow", as in nix, not a crash or gigabytes of output.
let x = { a = x; }; in builtins.toJSON x
