/* A stand-in for an old CRT DLL (msvcr80-msvcr120): the C runtime's heap
   handle lives in the global _crtheap (HeapCreate'd by _heap_init in the real
   DLL, set by the test's synthetic dump here), which is not exported; the
   exported _get_heap_handle returns it, so its code names the global's
   address. */
typedef __INTPTR_TYPE__ intptr_t;

void *_crtheap; /* S_GDATA32 "_crtheap", public "__crtheap" on x86 */

__declspec(dllexport) intptr_t _get_heap_handle(void) { return (intptr_t)_crtheap; }

int __stdcall _DllMainCRTStartup(void *h, unsigned reason, void *r) { return 1; }
