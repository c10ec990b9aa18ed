/* Fixture for the CFI unwinder: a chain of functions with different frame
 * shapes records, at each level, its return address and its DWARF CFA as
 * GCC computes them (__builtin_return_address, __builtin_dwarf_cfa); the
 * innermost one captures its registers with getcontext and the program
 * writes them, the stack bytes and the truth to stdout. A test unwinds
 * from the captured registers with the Breakpad STACK CFI records that
 * dump_syms wrote for this binary and must reproduce every level. */
#define _GNU_SOURCE
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <alloca.h>

#define N 8
static struct { void *ra, *cfa, *fn; } lv[N];
static int nlv;
static ucontext_t uc;
static volatile int sink;
static uintptr_t base;
/* The stack, copied while every frame is still live: after the calls
 * return, main's own calls (printf) would overwrite it. */
static unsigned char stack_copy[65536];
static uintptr_t stack_lo, stack_hi;

#define RECORD(f) do { lv[nlv].ra = __builtin_return_address(0); \
	lv[nlv].cfa = __builtin_dwarf_cfa(); lv[nlv].fn = (void *)(f); nlv++; } while (0)

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data) {
	(void)size; (void)data;
	base = info->dlpi_addr; /* the first object is the program */
	return 1;
}

__attribute__((noinline)) int leaf(int x) {
	RECORD(leaf);
	getcontext(&uc);
	stack_lo = (uintptr_t)uc.uc_mcontext.gregs[REG_RSP];
	stack_hi = (uintptr_t)lv[0].cfa + 64;
	if (stack_hi - stack_lo <= sizeof stack_copy)
		memcpy(stack_copy, (void *)stack_lo, stack_hi - stack_lo);
	sink = x;
	return x + 1;
}

/* Saves several callee-saved registers. */
__attribute__((noinline)) int spills(int a, int b, int c) {
	RECORD(spills);
	int s = 0;
	for (int i = 0; i < a; i++) s += i * b;
	int r = leaf(s + c);
	return r + s + a + b + c;
}

/* A large local array: the CFA is far from the stack pointer. */
__attribute__((noinline)) int bigframe(int n) {
	RECORD(bigframe);
	volatile char buf[4000];
	buf[n] = (char)n;
	int r = spills(n, buf[n], 3);
	return r + buf[n];
}

/* alloca: a frame pointer is needed and the CFA rule uses it. */
__attribute__((noinline)) int dynamic(int n) {
	RECORD(dynamic);
	volatile char *p = alloca(n * 16 + 1);
	p[0] = 1;
	int r = bigframe(n);
	return r + p[0];
}

__attribute__((noinline)) int outer(int n) {
	RECORD(outer);
	int r = dynamic(n);
	return r * 2;
}

int main(void) {
	RECORD(main);
	dl_iterate_phdr(phdr_cb, NULL);
	int r = outer(7);
	greg_t *g = uc.uc_mcontext.gregs;
	printf("base %lx\n", (unsigned long)base);
	printf("reg $rip %llx\nreg $rsp %llx\nreg $rbp %llx\nreg $rbx %llx\n",
	       (unsigned long long)g[REG_RIP], (unsigned long long)g[REG_RSP],
	       (unsigned long long)g[REG_RBP], (unsigned long long)g[REG_RBX]);
	printf("reg $r12 %llx\nreg $r13 %llx\nreg $r14 %llx\nreg $r15 %llx\n",
	       (unsigned long long)g[REG_R12], (unsigned long long)g[REG_R13],
	       (unsigned long long)g[REG_R14], (unsigned long long)g[REG_R15]);
	/* Levels innermost first: leaf ... main. */
	for (int i = nlv - 1; i >= 0; i--)
		printf("level %lx %lx %lx\n", (unsigned long)lv[i].fn, (unsigned long)lv[i].ra, (unsigned long)lv[i].cfa);
	if (stack_hi - stack_lo > sizeof stack_copy)
		return 1;
	for (uintptr_t a = stack_lo; a < stack_hi; a += 32) {
		printf("stack %lx ", (unsigned long)a);
		for (uintptr_t b = a; b < a + 32 && b < stack_hi; b++)
			printf("%02x", stack_copy[b - stack_lo]);
		printf("\n");
	}
	return r == 0;
}
