//! citizen-portal
