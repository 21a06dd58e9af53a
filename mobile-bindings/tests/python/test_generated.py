"""The generator wrote Kotlin and Swift beside the Python this suite runs on, with the same
interface: a broken or partial generation fails here, not first in an app build."""

import unittest

from harness import BINDINGS

OUT = BINDINGS.parent
NAMES = ["OfficerSession", "CaptureDraft", "SyncListener", "HttpClient", "SessionConfig", "SyncProgress", "TicketNotice"]


class GeneratedBindings(unittest.TestCase):
    def test_kotlin_declares_the_interface(self):
        kt = (OUT / "kotlin/uniffi/fieldseal_mobile/fieldseal_mobile.kt").read_text()
        self.assertIn("package uniffi.fieldseal_mobile", kt)
        for name in NAMES:
            self.assertRegex(kt, rf"(class|interface) {name}\b", name)
        self.assertIn("sealed class FieldsealException", kt)
        self.assertIn("fun `enrol`(`oneTimeCode`: kotlin.String): DeviceInfo", kt)
        self.assertIn('findLibraryName(componentName = "fieldseal_mobile")', kt)

    def test_swift_declares_the_interface_and_its_c_header(self):
        swift = (OUT / "swift/fieldseal_mobile.swift").read_text()
        header = (OUT / "swift/fieldseal_mobileFFI.h").read_text()
        modulemap = (OUT / "swift/fieldseal_mobileFFI.modulemap").read_text()
        for name in NAMES:
            self.assertRegex(swift, rf"(class|protocol|struct|enum) {name}\b", name)
        self.assertRegex(swift, r"public\s+enum FieldsealError: Swift.Error")
        self.assertIn("import fieldseal_mobileFFI", swift)
        self.assertIn("module fieldseal_mobileFFI", modulemap)
        self.assertIn("uniffi_fieldseal_mobile_fn_method_officersession_capture", header)


if __name__ == "__main__":
    unittest.main()
