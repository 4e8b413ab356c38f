// OpenBLAS's CBLAS interface (Debian: libopenblas-dev installs it as <cblas.h> through alternatives,
// and as <cblas-openblas.h> / openblas-pthread/cblas.h). We include the pkg-config path's header.
#include <cblas.h>
