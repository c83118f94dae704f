# The combinators of `lib` (`fix`, `extends`, `id`, `const`, ...).
let
  lib = import ../../crates/kiln-module/lib;
  base = self: { a = 1; b = self.a + 1; };
  overlay = self: super: { a = 10; c = super.b + self.b; };
in
{
  fix = lib.fix base;
  extends = lib.fix (lib.extends overlay base);
  id = lib.id 5;
  const = lib.const 1 2;
  flip = lib.flip (a: b: a - b) 1 10;
  pipe = lib.pipe 2 [ (x: x * 3) (x: x + 1) ];
  boolToString = [ (lib.boolToString true) (lib.boolToString false) ];
  min = lib.min 3 2;
  max = lib.max 3 2;
  mod = lib.mod 7 3;
  mapNullable = [ (lib.mapNullable (x: x + 1) null) (lib.mapNullable (x: x + 1) 1) ];
  functionArgs = lib.functionArgs ({ a, b ? 1 }: a);
}
