//! A generator of random well-formed, well-typed Nix expressions for the differential test:
//! arithmetic, floats, strings and interpolation, lists, attribute sets, lambdas (plain and
//! with set patterns), `let`/`with`/`rec`/`inherit`, `if`, `or`, `?`, `//`, `++` and the core
//! builtins. Each generator returns an expression of the requested type, so every expression
//! evaluates without error (division only by non-zero literals).

/// xorshift64*: small, fast and reproducible from a seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Ty {
    Int,
    Float,
    Bool,
    Str,
    List,
    Attrs,
}

struct Gen<'a> {
    rng: &'a mut Rng,
    /// Variables in scope with their types.
    vars: Vec<(String, Ty)>,
    fresh: usize,
}

/// One random expression.
pub(crate) fn expr(rng: &mut Rng) -> String {
    let mut g = Gen {
        rng,
        vars: Vec::new(),
        fresh: 0,
    };
    let ty = g.ty();
    g.gen(ty, 4)
}

impl Gen<'_> {
    fn ty(&mut self) -> Ty {
        [Ty::Int, Ty::Float, Ty::Bool, Ty::Str, Ty::List, Ty::Attrs][self.rng.below(6) as usize]
    }

    fn pick(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }

    fn var_of(&mut self, ty: Ty) -> Option<String> {
        let candidates: Vec<&String> = self
            .vars
            .iter()
            .filter(|(_, t)| *t == ty)
            .map(|(n, _)| n)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let i = self.rng.below(candidates.len() as u64) as usize;
        Some(candidates[i].clone())
    }

    fn fresh(&mut self) -> String {
        self.fresh += 1;
        format!("v{}", self.fresh)
    }

    fn gen(&mut self, ty: Ty, depth: u32) -> String {
        if depth > 0 {
            match self.pick(10) {
                0 => return self.let_(ty, depth),
                1 => {
                    let c = self.gen(Ty::Bool, depth - 1);
                    let a = self.gen(ty, depth - 1);
                    let b = self.gen(ty, depth - 1);
                    return format!("(if {c} then {a} else {b})");
                }
                2 => {
                    let x = self.fresh();
                    self.vars.push((x.clone(), ty));
                    let body = self.gen(ty, depth - 1);
                    self.vars.pop();
                    let arg = self.gen(ty, depth - 1);
                    return format!("(({x}: {body}) {arg})");
                }
                3 => {
                    let v = self.gen(ty, depth - 1);
                    let d = self.gen(ty, depth - 1);
                    return format!(
                        "(({{ a = {{ b = {v}; }}; }}.a.{} or {d}))",
                        ["b", "c"][self.pick(2) as usize]
                    );
                }
                _ => {}
            }
        }
        if let Some(v) = (self.pick(4) == 0).then(|| self.var_of(ty)).flatten() {
            return v;
        }
        match ty {
            Ty::Int => self.int(depth),
            Ty::Float => self.float(depth),
            Ty::Bool => self.bool_(depth),
            Ty::Str => self.str_(depth),
            Ty::List => self.list(depth),
            Ty::Attrs => self.attrs(depth),
        }
    }

    fn let_(&mut self, ty: Ty, depth: u32) -> String {
        let n = 1 + self.pick(3);
        let mut bindings = Vec::new();
        let mut names = Vec::new();
        for _ in 0..n {
            let t = self.ty();
            let name = self.fresh();
            let value = self.gen(t, depth - 1);
            bindings.push(format!("{name} = {value};"));
            names.push((name, t));
        }
        let with = self.pick(4) == 0;
        self.vars.extend(names.iter().cloned());
        let body = self.gen(ty, depth - 1);
        self.vars.truncate(self.vars.len() - names.len());
        if with {
            let body_with = body.clone();
            format!("(with {{ {} }}; {body_with})", bindings.join(" "))
        } else if self.pick(3) == 0 {
            format!("(rec {{ {} __body = {body}; }}).__body", bindings.join(" "))
        } else {
            format!("(let {} in {body})", bindings.join(" "))
        }
    }

    fn int(&mut self, depth: u32) -> String {
        let lit = |g: &mut Gen| -> String {
            match g.pick(8) {
                0 => "9223372036854775807".into(),
                1 => format!("({})", -(g.pick(1000) as i64)),
                _ => g.pick(100).to_string(),
            }
        };
        if depth == 0 {
            return lit(self);
        }
        let d = depth - 1;
        match self.pick(20) {
            14 => format!("(builtins.stringLength {})", self.gen(Ty::Str, d)),
            15 => format!(
                "({{ __functor = self: x: x + self.k; k = {}; }} {})",
                self.gen(Ty::Int, d),
                self.gen(Ty::Int, d)
            ),
            16 => format!(
                "(let s = {}; in if builtins.isInt (s.a or null) then s.a else {})",
                self.gen(Ty::Attrs, d),
                self.gen(Ty::Int, d)
            ),
            17 => format!(
                "(builtins.compareVersions {} {})",
                self.gen(Ty::Str, d),
                self.gen(Ty::Str, d)
            ),
            0 => format!("({} + {})", self.gen(Ty::Int, d), self.gen(Ty::Int, d)),
            1 => format!("({} - {})", self.gen(Ty::Int, d), self.gen(Ty::Int, d)),
            2 => format!("({} * {})", self.gen(Ty::Int, d), self.gen(Ty::Int, d)),
            3 => format!("({} / {})", self.gen(Ty::Int, d), 1 + self.pick(9)),
            4 => format!("(-{})", self.gen(Ty::Int, d)),
            5 => format!("(builtins.length {})", self.gen(Ty::List, d)),
            6 => format!(
                "(builtins.foldl' (a: b: a + b) {} {})",
                self.gen(Ty::Int, d),
                self.gen(Ty::List, d)
            ),
            7 => format!(
                "(builtins.bitXor {} {})",
                self.gen(Ty::Int, d),
                self.gen(Ty::Int, d)
            ),
            8 => format!(
                "(builtins.head ([ {} ] ++ {}))",
                self.gen(Ty::Int, d),
                self.gen(Ty::List, d)
            ),
            9 => format!(
                "(({{ a, b ? {} }}: a * b) {{ a = {}; }})",
                self.gen(Ty::Int, d),
                self.gen(Ty::Int, d)
            ),
            10 => format!("(builtins.floor {})", self.gen(Ty::Float, d)),
            11 => format!(
                "(builtins.length (builtins.attrNames {}))",
                self.gen(Ty::Attrs, d)
            ),
            _ => lit(self),
        }
    }

    fn float(&mut self, depth: u32) -> String {
        let lit = |g: &mut Gen| -> String {
            match g.pick(6) {
                0 => format!("{}.{}e{}", g.pick(10), g.pick(1000), g.pick(30)),
                1 => format!("0.{:03}", g.pick(1000)),
                2 => format!("{}.5", g.pick(10_000_000)),
                _ => format!("{}.{}", g.pick(1000), g.pick(100)),
            }
        };
        if depth == 0 {
            return lit(self);
        }
        let d = depth - 1;
        match self.pick(8) {
            0 => format!("({} + {})", self.gen(Ty::Float, d), self.gen(Ty::Int, d)),
            1 => format!("({} * {})", self.gen(Ty::Int, d), self.gen(Ty::Float, d)),
            2 => format!("({} / {}.5)", self.gen(Ty::Float, d), self.pick(9)),
            3 => format!("({} - {})", self.gen(Ty::Float, d), self.gen(Ty::Float, d)),
            _ => lit(self),
        }
    }

    fn bool_(&mut self, depth: u32) -> String {
        if depth == 0 {
            return ["true", "false"][self.pick(2) as usize].into();
        }
        let d = depth - 1;
        match self.pick(18) {
            0 => format!("({} < {})", self.gen(Ty::Int, d), self.gen(Ty::Int, d)),
            1 => format!("({} <= {})", self.gen(Ty::Float, d), self.gen(Ty::Int, d)),
            2 => format!("({} == {})", self.gen(Ty::List, d), self.gen(Ty::List, d)),
            3 => format!("(!{})", self.gen(Ty::Bool, d)),
            4 => format!("({} && {})", self.gen(Ty::Bool, d), self.gen(Ty::Bool, d)),
            5 => format!("({} || {})", self.gen(Ty::Bool, d), self.gen(Ty::Bool, d)),
            6 => format!("({} -> {})", self.gen(Ty::Bool, d), self.gen(Ty::Bool, d)),
            7 => format!(
                "({} ? {})",
                self.gen(Ty::Attrs, d),
                ["a", "b", "x", "y"][self.pick(4) as usize]
            ),
            8 => format!(
                "(builtins.elem {} {})",
                self.gen(Ty::Int, d),
                self.gen(Ty::List, d)
            ),
            9 => format!("({} != {})", self.gen(Ty::Attrs, d), self.gen(Ty::Attrs, d)),
            10 => format!("({} > {})", self.gen(Ty::Str, d), self.gen(Ty::Str, d)),
            11 => format!(
                "(builtins.tryEval (if {} then throw \"t\" else {})).success",
                self.gen(Ty::Bool, d),
                self.gen(Ty::Int, d)
            ),
            12 => format!(
                "(builtins.length [ (throw \"lazy\") {} ] == 2)",
                self.gen(Ty::Int, d)
            ),
            13 => format!(
                "(let f = {{ a ? throw \"unused\", b }}: b; in f {{ b = {}; }})",
                self.gen(Ty::Bool, d)
            ),
            14 => format!("({} == {})", self.gen(Ty::Float, d), self.gen(Ty::Int, d)),
            15 => format!(
                "(builtins.hasAttr {} {})",
                self.gen(Ty::Str, d),
                self.gen(Ty::Attrs, d)
            ),
            16 => format!("({} < {})", self.gen(Ty::List, d), self.gen(Ty::List, d)),
            _ => format!("(builtins.isInt {})", self.gen(Ty::Int, d)),
        }
    }

    fn str_(&mut self, depth: u32) -> String {
        let lit = |g: &mut Gen| -> String {
            let pieces = [
                "a", "b", "\\n", "\\t", "\\\"", "\\\\", "$", "\\${x}", "é", " ", "x1", "''",
            ];
            let n = g.pick(5);
            let s: String = (0..n)
                .map(|_| pieces[g.pick(pieces.len() as u64) as usize])
                .collect();
            format!("\"{s}\"")
        };
        if depth == 0 {
            return lit(self);
        }
        let d = depth - 1;
        match self.pick(17) {
            0 => format!("({} + {})", self.gen(Ty::Str, d), self.gen(Ty::Str, d)),
            1 => format!("\"<${{{}}}>\"", self.gen(Ty::Str, d)),
            2 => format!("(builtins.toString {})", self.gen(Ty::Int, d)),
            3 => format!("(builtins.typeOf {})", {
                let t = self.ty();
                self.gen(t, d)
            }),
            4 => format!("(toString {})", self.gen(Ty::List, d)),
            5 => format!("(toString {})", self.gen(Ty::Bool, d)),
            6 => format!("(builtins.toString {})", self.gen(Ty::Float, d)),
            7 => format!(
                "(builtins.concatStringsSep {} (map toString {}))",
                self.gen(Ty::Str, d),
                self.gen(Ty::List, d)
            ),
            8 => format!(
                "(builtins.substring {} {} {})",
                self.pick(4),
                self.pick(5),
                self.gen(Ty::Str, d)
            ),
            9 => format!(
                "(builtins.replaceStrings [ \"a\" \"\\n\" ] [ {} \"N\" ] {})",
                self.gen(Ty::Str, d),
                self.gen(Ty::Str, d)
            ),
            10 => format!("(builtins.toJSON {})", self.gen(Ty::Attrs, d)),
            11 => format!("(builtins.toJSON {})", self.gen(Ty::Float, d)),
            12 => format!("(toString {})", self.gen(Ty::Float, d)),
            13 => format!(
                "(builtins.concatStringsSep \",\" (builtins.attrNames {}))",
                self.gen(Ty::Attrs, d)
            ),
            14 => format!("''\n  ind ${{{}}}\n    x\n''", self.gen(Ty::Str, d)),
            _ => lit(self),
        }
    }

    fn list(&mut self, depth: u32) -> String {
        if depth == 0 {
            let n = self.pick(4);
            let items: Vec<String> = (0..n).map(|_| self.pick(50).to_string()).collect();
            return format!("[ {} ]", items.join(" "));
        }
        let d = depth - 1;
        match self.pick(12) {
            10 => format!(
                "(builtins.sort builtins.lessThan {})",
                self.gen(Ty::List, d)
            ),
            11 => format!("(builtins.sort (a: b: a > b) {})", self.gen(Ty::List, d)),
            0 => format!("({} ++ {})", self.gen(Ty::List, d), self.gen(Ty::List, d)),
            1 => format!(
                "(map (x: x * {}) {})",
                self.gen(Ty::Int, d),
                self.gen(Ty::List, d)
            ),
            2 => format!(
                "(builtins.filter (x: x > {}) {})",
                self.pick(30),
                self.gen(Ty::List, d)
            ),
            3 => format!("(builtins.genList (x: x * x) {})", self.pick(6)),
            4 => format!("(builtins.tail ([ 1 ] ++ {}))", self.gen(Ty::List, d)),
            5 => format!(
                "(builtins.concatLists [ {} {} ])",
                self.gen(Ty::List, d),
                self.gen(Ty::List, d)
            ),
            6 => format!(
                "(builtins.concatMap (x: [ x x ]) {})",
                self.gen(Ty::List, d)
            ),
            _ => {
                let n = self.pick(4);
                let t = [Ty::Int, Ty::Int, Ty::Str, Ty::Float, Ty::Bool, Ty::Attrs]
                    [self.pick(6) as usize];
                let items: Vec<String> = (0..n).map(|_| self.gen(t, d)).collect();
                if t == Ty::Int {
                    format!("[ {} ]", items.join(" "))
                } else {
                    // Lists of other types are fine to print but not for integer ops: wrap.
                    format!(
                        "(builtins.genList (x: x) (builtins.length [ {} ]))",
                        items.join(" ")
                    )
                }
            }
        }
    }

    fn attrs(&mut self, depth: u32) -> String {
        let names = ["a", "b", "c", "x", "y", "\"z w\""];
        if depth == 0 {
            let n = self.pick(3);
            let mut used = Vec::new();
            let mut items = Vec::new();
            for _ in 0..n {
                let name = names[self.pick(names.len() as u64) as usize];
                if !used.contains(&name) {
                    used.push(name);
                    items.push(format!("{name} = {};", self.pick(9)));
                }
            }
            return format!("{{ {} }}", items.join(" "));
        }
        let d = depth - 1;
        match self.pick(12) {
            9 => format!("(let s = {}; in {{ inherit s; inherit (s) __unused or 1; }})", self.gen(Ty::Attrs, d))
                .replace(" inherit (s) __unused or 1;", ""),
            10 => format!(
                "(builtins.zipAttrsWith (n: vs: builtins.length vs) [ {} {} ])",
                self.gen(Ty::Attrs, d),
                self.gen(Ty::Attrs, d)
            ),
            11 => format!("(builtins.fromJSON (builtins.toJSON {}))", self.gen(Ty::Attrs, d)),
            0 => format!("({} // {})", self.gen(Ty::Attrs, d), self.gen(Ty::Attrs, d)),
            1 => format!("(builtins.mapAttrs (n: v: n) {})", self.gen(Ty::Attrs, d)),
            2 => format!("(builtins.removeAttrs {} [ \"a\" \"x\" ])", self.gen(Ty::Attrs, d)),
            3 => format!(
                "(builtins.listToAttrs [ {{ name = {}; value = {}; }} {{ name = \"k\"; value = 1; }} ])",
                self.gen(Ty::Str, d),
                self.gen(Ty::Int, d)
            ),
            4 => format!("(builtins.intersectAttrs {} {})", self.gen(Ty::Attrs, d), self.gen(Ty::Attrs, d)),
            5 => format!("(rec {{ a = {}; b = a; c = [ a b ]; }})", self.gen(Ty::Int, d)),
            6 => format!("{{ a.b = {}; a.c = {}; }}", self.gen(Ty::Str, d), self.gen(Ty::Float, d)),
            7 => {
                let t = self.ty();
                format!("{{ x = {}; ${{{}}} = 1; }}", self.gen(t, d), self.gen(Ty::Str, d).replace("\"x\"", "\"q\""))
                    .replace("${\"x\"}", "${\"q\"}")
            }
            _ => {
                let t = self.ty();
                format!("{{ y = {}; z = {}; }}", self.gen(t, d), self.gen(Ty::List, d))
            }
        }
    }
}
