{ config, ... }: { value = if config.enable then 1 else 0; }
