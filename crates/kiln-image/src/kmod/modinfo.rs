//! The `.modinfo` section of a kernel module: NUL-separated `key=value` strings that
//! `MODULE_INFO()` and friends (`include/linux/module.h`, `MODULE_FIRMWARE`, `MODULE_ALIAS`,
//! `MODULE_SOFTDEP`) and `modpost` (`depends=`, `vermagic=`, `name=`) put into every `.ko`.
//! `modinfo(8)` and depmod read the same strings.

use crate::ImageError;
use object::{Object, ObjectSection};
use std::path::Path;

/// What kiln uses from `.modinfo`. Lists keep the section's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModInfo {
    /// `name=`, present since Linux 5.x; the file stem is the fallback.
    pub name: Option<String>,
    /// `depends=`: comma-separated hard dependencies, already `_`-normalised by modpost.
    pub depends: Vec<String>,
    /// `softdep=pre: a b post: c`: loaded before / after the module if available.
    pub softdep_pre: Vec<String>,
    pub softdep_post: Vec<String>,
    /// `firmware=`: paths under `/lib/firmware`; may hold shell globs (brcmfmac does).
    pub firmware: Vec<String>,
    /// `alias=`: fnmatch patterns such as `pci:v000014E4d00004311sv*sd*bc*sc*i*`.
    pub aliases: Vec<String>,
    pub vermagic: Option<String>,
}

/// Parses the raw section contents. Unknown keys and strings without `=` are ignored, as
/// `modinfo(8)` does.
pub fn parse_modinfo(section: &[u8]) -> ModInfo {
    let mut res = ModInfo::default();
    for raw in section.split(|&b| b == 0) {
        let Ok(text) = std::str::from_utf8(raw) else {
            continue;
        };
        let Some((key, value)) = text.split_once('=') else {
            continue;
        };
        match key {
            "name" => res.name = Some(value.to_owned()),
            "depends" => {
                res.depends.extend(
                    value
                        .split(',')
                        .filter(|d| !d.is_empty())
                        .map(super::normalize_name),
                );
            }
            "softdep" => parse_softdep(value, &mut res),
            "firmware" => res.firmware.push(value.to_owned()),
            "alias" => res.aliases.push(value.to_owned()),
            "vermagic" => res.vermagic = Some(value.to_owned()),
            _ => {}
        }
    }
    res
}

/// `softdep=` as in `modprobe.d(5)`: `pre:` and `post:` switch lists; names before either
/// keyword are ignored, as kmod does.
fn parse_softdep(value: &str, res: &mut ModInfo) {
    #[derive(PartialEq)]
    enum Mode {
        None,
        Pre,
        Post,
    }
    let mut mode = Mode::None;
    for word in value.split_whitespace() {
        match word {
            "pre:" => mode = Mode::Pre,
            "post:" => mode = Mode::Post,
            name => match mode {
                Mode::Pre => res.softdep_pre.push(name.to_owned()),
                Mode::Post => res.softdep_post.push(name.to_owned()),
                Mode::None => {}
            },
        }
    }
}

/// Reads `.modinfo` from an ELF module file. `.ko.xz` and `.ko.zst` are decompressed first
/// (later Debian kernels compress modules; bookworm's do not).
pub fn read_modinfo(path: &Path) -> Result<ModInfo, ImageError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let bad = |reason: String| ImageError::BadModule {
        path: path.to_path_buf(),
        reason,
    };
    if !name.ends_with(".ko.xz") && !name.ends_with(".ko.zst") {
        // Only the ELF headers and `.modinfo` are read, not the whole module: indexing a
        // kernel's 4 000 modules then reads a few MB instead of 350.
        let file = std::fs::File::open(path).map_err(ImageError::io(path))?;
        let cache = object::ReadCache::new(file);
        let elf =
            object::File::parse(&cache).map_err(|e| bad(format!("not an ELF object: {e}")))?;
        let section = elf
            .section_by_name(".modinfo")
            .ok_or_else(|| bad("no .modinfo section".into()))?;
        let bytes = section
            .data()
            .map_err(|e| bad(format!("unreadable .modinfo section: {e}")))?;
        return Ok(parse_modinfo(bytes));
    }
    let raw = std::fs::read(path).map_err(ImageError::io(path))?;
    let data = if name.ends_with(".ko.xz") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut liblzma::read::XzDecoder::new(&raw[..]), &mut out)
            .map_err(ImageError::io(path))?;
        out
    } else if name.ends_with(".ko.zst") {
        zstd::stream::decode_all(&raw[..]).map_err(ImageError::io(path))?
    } else {
        raw
    };
    modinfo_from_elf(&data).map_err(|reason| ImageError::BadModule {
        path: path.to_path_buf(),
        reason,
    })
}

/// Finds `.modinfo` in an ELF object in memory.
pub fn modinfo_from_elf(data: &[u8]) -> Result<ModInfo, String> {
    let file = object::File::parse(data).map_err(|e| format!("not an ELF object: {e}"))?;
    let section = file
        .section_by_name(".modinfo")
        .ok_or("no .modinfo section")?;
    let bytes = section
        .data()
        .map_err(|e| format!("unreadable .modinfo section: {e}"))?;
    Ok(parse_modinfo(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys() {
        let raw = b"license=GPL\0depends=cfg80211,lib80211_crypt\0softdep=pre: crc32c post: foo-bar\0\
firmware=brcm/a.bin\0firmware=brcm/b*.txt\0alias=pci:v000014E4d*\0name=wl\0vermagic=6.1.0 SMP\0\0garbage\0";
        let info = parse_modinfo(raw);
        assert_eq!(info.name.as_deref(), Some("wl"));
        assert_eq!(info.depends, ["cfg80211", "lib80211_crypt"]);
        assert_eq!(info.softdep_pre, ["crc32c"]);
        assert_eq!(info.softdep_post, ["foo-bar"]);
        assert_eq!(info.firmware, ["brcm/a.bin", "brcm/b*.txt"]);
        assert_eq!(info.aliases, ["pci:v000014E4d*"]);
        assert_eq!(info.vermagic.as_deref(), Some("6.1.0 SMP"));
    }

    #[test]
    fn empty_depends() {
        assert!(parse_modinfo(b"depends=\0").depends.is_empty());
    }
}
