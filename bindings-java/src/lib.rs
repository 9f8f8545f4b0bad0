//! JNI bridge over the ordertrace core (work in progress).
