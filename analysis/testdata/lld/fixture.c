/* A tiny DLL with a real lld-written PDB: named, data, ordinal-only and
   forwarded exports, and a global named _crtheap like the CRT's. */
typedef void *HANDLE;

HANDLE _crtheap = (HANDLE)0x12340000; /* S_GDATA32 "_crtheap", public "__crtheap" on x86 */
static int calls;                     /* S_LDATA32 */
__declspec(dllexport) int exported_data = 42;

__declspec(dllexport) int add(int a, int b) { calls++; return a + b; }
__declspec(dllexport) HANDLE get_heap(void) { return _crtheap; }
int hidden(void) { return calls; }

int __stdcall _DllMainCRTStartup(void *h, unsigned reason, void *r) { return 1; }
