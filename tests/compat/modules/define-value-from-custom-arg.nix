{ custom, ... }: { value = custom * 2; }
