x: { zeta, x, alpha }: { outPath, name, zzz }: 1
