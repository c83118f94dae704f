# A selection followed by a path argument: `builtins.isPath ./.` is an application of `builtins.isPath`
# to the path `./.`, not a selection of `isPath ./.` (kiln once skipped the space inside its
# path look-ahead and rejected the `.` of `builtins.isPath`).
[ (builtins.isPath ./.) (builtins.typeOf ./a) (builtins.baseNameOf ./dir/x.nix) (builtins.isPath /tmp) ]
