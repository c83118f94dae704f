{ f ? x: x }: f
