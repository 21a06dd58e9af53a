//! fieldseal-tests: end-to-end tests that start real server and enclave processes and drive
//! them like their users. They arrive with the enclave and relay issue.
