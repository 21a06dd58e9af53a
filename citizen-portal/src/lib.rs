//! fieldseal-portal: the citizen and clerk web pages, mounted by the server. Arrives with the
//! citizen portal issue.
