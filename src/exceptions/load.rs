//! Reading exception lists from files (written by the loader's author).
