//! `uniffi-bindgen-swift <libfieldseal_mobile.a> DIR --headers --modulemap | --swift-sources`:
//! the split Swift output an xcframework needs.
fn main() {
    uniffi::uniffi_bindgen_swift()
}
