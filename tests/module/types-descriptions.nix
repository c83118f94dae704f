# The description of every type, as error messages and `kiln options` show it.
let
  lib = import ../../crates/kiln-module/lib;
  t = lib.types;
in
map (type: type.description) [
  t.bool t.int t.str t.lines t.commas (t.separatedString "") t.path t.package t.attrs t.anything t.unspecified
  t.raw t.port t.ints.u8 t.ints.s32 t.ints.unsigned t.ints.positive (t.ints.between 1 9) t.nonEmptyStr
  (t.strMatching "[a-z]+") (t.enum [ "xz" "zstd" ]) (t.enum [ 1 true ]) (t.enum [ "only" ]) (t.enum [ ])
  (t.nullOr t.str) (t.either t.int t.str) (t.oneOf [ t.int t.str t.bool ]) (t.listOf t.str)
  (t.attrsOf (t.listOf t.int)) (t.lazyAttrsOf t.bool) (t.submodule { }) (t.functionTo t.int)
  (t.coercedTo t.int toString t.str) (t.uniq t.str)
]
