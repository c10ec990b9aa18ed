/* A program whose malloc comes from a CRT DLL: which one is decided by the
   import library it is linked with (msvcr90.dll or the UCRT's API set). */
void *malloc(__SIZE_TYPE__ n);
int mainCRTStartup(void) { return malloc(16) != 0; }
