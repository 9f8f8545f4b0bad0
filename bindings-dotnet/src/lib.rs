//! C ABI over the ordertrace core (work in progress).
