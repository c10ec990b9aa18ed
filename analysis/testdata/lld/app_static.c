/* A program with the C runtime linked in statically: its heap handle is the
   global _crtheap, known only to its PDB (no import names malloc). */
void *_crtheap;
void *malloc(__SIZE_TYPE__ n) { return n ? _crtheap : 0; }
int mainCRTStartup(void) { return malloc(16) != 0; }
