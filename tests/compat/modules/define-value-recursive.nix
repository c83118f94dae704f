{ config, ... }: { value = config.value + 1; }
