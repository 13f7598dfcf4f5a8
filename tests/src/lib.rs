//! Test harness: throwaway slapd, generated LDIF, private mount namespaces.
