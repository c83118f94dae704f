let
  set = { b = 1;
     a = 2; "é" = 3; };
  pos = builtins.unsafeGetAttrPos "a" set;
  posU = builtins.unsafeGetAttrPos "é" set;
in [ pos.line pos.column (baseNameOf pos.file) posU.column (builtins.unsafeGetAttrPos "z" set) ]
