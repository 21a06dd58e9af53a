//! fieldseal-mobile: the uniffi facade over fieldseal-core for Kotlin, Swift and Python apps.
//! Its objects and records arrive with the mobile-bindings issue; today it only links the core.
