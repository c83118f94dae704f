//! The SBOM beside the ISO (`NAME.spdx.json`): an SPDX 2.3 JSON document
//! (<https://spdx.github.io/spdx-spec/v2.3/>) made from the image's package manifest.
//!
//! - The ISO is the described element (`documentDescribes`), a package with its file name and
//!   SHA-256, that `CONTAINS` each Debian package of the manifest.
//! - A Debian package: `name`, `versionInfo`, `downloadLocation` (the `.deb`'s URL in Debian's
//!   archive), its SHA-256, `packageFileName`, the source package (`sourceInfo`), a purl
//!   (`pkg:deb/debian/NAME@VERSION?arch=ARCH`), how it reaches the image (`comment`), and the
//!   licence its machine-readable copyright file declares (`licenseDeclared`; kiln analyses no
//!   files, so its conclusion, `licenseConcluded`, is the declaration), `NOASSERTION` when the
//!   file is not machine-readable. `LicenseRef-`s carry their text in
//!   `hasExtractedLicensingInfos`.
//! - `DEPENDS_ON` from each package to the packages of the manifest its lock entry depends on.
//! - Deterministic: `created` is the derivation's `SOURCE_DATE_EPOCH`, the namespace is derived
//!   from the ISO's SHA-256 (the same ISO from any store, the same document), the creator names no version (a new kiln with the same
//!   builder version reuses the entry, so a version would be a claim the key does not cover),
//!   and everything is in the manifest's order (by name).

use kiln_debian::manifest::Manifest;
use serde::Deserialize;
use serde_json::{json, Value};

/// The ISO as the document describes it.
pub(crate) struct Described<'a> {
    pub(crate) file_name: &'a str,
    pub(crate) sha256: &'a str,
    /// `YYYY-MM-DDThh:mm:ssZ`.
    pub(crate) created: &'a str,
}

/// A licence reference of the manifest step's `licenses.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExtractedLicense {
    id: String,
    name: String,
    text: String,
}

const IMAGE_ID: &str = "SPDXRef-Image";

/// An SPDX id for a Debian package: its name, whose `+` (SPDX ids allow letters, digits, `.`
/// and `-`) becomes `P`, which no Debian name has (they are lower-case), so ids stay distinct.
fn package_id(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| if c == '+' { 'P' } else { c })
        .collect();
    format!("SPDXRef-deb-{name}")
}

/// A purl's version: percent-encoded except for its unreserved characters.
fn purl_escape(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b".-_~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(crate) fn document(
    manifest: &Manifest,
    licenses: &[ExtractedLicense],
    iso: &Described<'_>,
) -> Value {
    let mut packages = vec![json!({
        "SPDXID": IMAGE_ID,
        "name": iso.file_name,
        "packageFileName": iso.file_name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "checksums": [{ "algorithm": "SHA256", "checksumValue": iso.sha256 }],
        "primaryPackagePurpose": "OPERATING-SYSTEM",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "comment": "A live ISO image built by kiln.",
    })];
    let mut relationships = Vec::new();
    let mut depends = Vec::new();
    for package in &manifest.packages {
        let id = package_id(&package.name);
        let file_name = package
            .lock
            .filename
            .rsplit('/')
            .next()
            .unwrap_or(&package.lock.filename);
        packages.push(json!({
            "SPDXID": id,
            "name": package.name,
            "versionInfo": package.version,
            "packageFileName": file_name,
            "supplier": "Organization: Debian",
            "downloadLocation": package.url,
            "filesAnalyzed": false,
            "checksums": [{ "algorithm": "SHA256", "checksumValue": package.sha256 }],
            "sourceInfo": format!(
                "built from the Debian source package {} {}",
                package.source, package.source_version
            ),
            "licenseConcluded": package.license,
            "licenseDeclared": package.license,
            "copyrightText": "NOASSERTION",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": format!(
                    "pkg:deb/debian/{}@{}?arch={}",
                    package.name,
                    purl_escape(&package.version),
                    package.architecture
                ),
            }],
            "comment": format!("in the image as: {}", package.parts.join(", ")),
        }));
        relationships.push(json!({
            "spdxElementId": IMAGE_ID,
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
        for dependency in &package.lock.depends {
            let present = manifest
                .packages
                .binary_search_by(|p| p.name.as_str().cmp(dependency))
                .is_ok();
            if present {
                depends.push(json!({
                    "spdxElementId": id,
                    "relationshipType": "DEPENDS_ON",
                    "relatedSpdxElement": package_id(dependency),
                }));
            }
        }
    }
    relationships.extend(depends);
    let extracted: Vec<Value> = licenses
        .iter()
        .map(|l| json!({ "licenseId": l.id, "name": l.name, "extractedText": l.text }))
        .collect();
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": iso.file_name,
        "documentNamespace": format!("https://spdx.org/spdxdocs/kiln-{}-{}", iso.file_name, iso.sha256),
        "creationInfo": {
            "created": iso.created,
            "creators": ["Tool: kiln"],
        },
        "documentDescribes": [IMAGE_ID],
        "packages": packages,
        "relationships": relationships,
        "hasExtractedLicensingInfos": extracted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_purls_keep_debian_names_apart() {
        assert_eq!(package_id("libstdc++6"), "SPDXRef-deb-libstdcPP6");
        assert_ne!(package_id("a+"), package_id("a-"));
        assert_eq!(purl_escape("1:2.36-9+deb12u4"), "1%3A2.36-9%2Bdeb12u4");
        assert_eq!(purl_escape("1.0~rc1"), "1.0~rc1");
    }
}
