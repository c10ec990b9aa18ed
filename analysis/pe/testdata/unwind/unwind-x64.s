# x64 functions with every kind of unwind code, for the UNWIND_INFO decoder and
# the stack walker's tests. Built by gen.sh; llvm-readobj --unwind's view of the
# result is unwind-x64.dll.llvm-readobj.txt. Each function calls "callee" once, so
# the return address after that call is a known caller location.
	.text
	.globl callee
	.def callee; .scl 2; .type 32; .endef
callee:                         # a leaf: no .pdata entry
	ret

	.globl f_push
	.def f_push; .scl 2; .type 32; .endef
	.seh_proc f_push
f_push:                         # push rbx, rsi, r12, r15; sub rsp, 0x28
	push %rbx
	.seh_pushreg %rbx
	push %rsi
	.seh_pushreg %rsi
	push %r12
	.seh_pushreg %r12
	push %r15
	.seh_pushreg %r15
	sub $0x28, %rsp
	.seh_stackalloc 0x28
	.seh_endprologue
	call callee
	nop
	add $0x28, %rsp
	pop %r15
	pop %r12
	pop %rsi
	pop %rbx
	ret
	.seh_endproc

	.globl f_frame
	.def f_frame; .scl 2; .type 32; .endef
	.seh_proc f_frame
f_frame:                        # the sample prolog of "x64 exception handling"
	push %rbp
	.seh_pushreg %rbp
	sub $0x40, %rsp
	.seh_stackalloc 0x40
	lea 0x20(%rsp), %rbp
	.seh_setframe %rbp, 0x20
	movdqa %xmm7, (%rbp)
	.seh_savexmm %xmm7, 0x20
	mov %rsi, 0x18(%rbp)
	.seh_savereg %rsi, 0x38
	mov %rdi, 0x10(%rsp)
	.seh_savereg %rdi, 0x10
	.seh_endprologue
	sub $0x60, %rsp
	call callee
	nop
	movdqa (%rbp), %xmm7       # restores outside the official epilog
	mov 0x18(%rbp), %rsi
	mov -0x10(%rbp), %rdi
	lea 0x20(%rbp), %rsp
	pop %rbp
	ret
	.seh_endproc

	.globl f_large
	.def f_large; .scl 2; .type 32; .endef
	.seh_proc f_large
f_large:                        # UWOP_ALLOC_LARGE, operation info 0
	push %rdi
	.seh_pushreg %rdi
	sub $0x2000, %rsp
	.seh_stackalloc 0x2000
	.seh_endprologue
	call callee
	nop
	add $0x2000, %rsp
	pop %rdi
	ret
	.seh_endproc

	.globl f_huge
	.def f_huge; .scl 2; .type 32; .endef
	.seh_proc f_huge
f_huge:                         # ALLOC_LARGE info 1, SAVE_NONVOL_FAR, SAVE_XMM128_FAR
	sub $0x100008, %rsp
	.seh_stackalloc 0x100008
	mov %rbx, 0x80000(%rsp)
	.seh_savereg %rbx, 0x80000
	movaps %xmm6, 0x90000(%rsp)
	.seh_savexmm %xmm6, 0x90000
	mov %r13, 0x100(%rsp)
	.seh_savereg %r13, 0x100
	.seh_endprologue
	call callee
	nop
	mov 0x100(%rsp), %r13
	mov 0x80000(%rsp), %rbx
	add $0x100008, %rsp
	ret
	.seh_endproc

	.globl f_machframe
	.def f_machframe; .scl 2; .type 32; .endef
	.seh_proc f_machframe
f_machframe:                    # an interrupt frame without an error code
	.seh_pushframe
	push %rbp
	.seh_pushreg %rbp
	.seh_endprologue
	call callee
	nop
	pop %rbp
	iretq
	.seh_endproc

	.globl f_machframe_code
	.def f_machframe_code; .scl 2; .type 32; .endef
	.seh_proc f_machframe_code
f_machframe_code:               # and with one
	.seh_pushframe @code
	sub $0x18, %rsp
	.seh_stackalloc 0x18
	.seh_endprologue
	call callee
	nop
	add $0x20, %rsp
	iretq
	.seh_endproc

	.globl f_chained
	.def f_chained; .scl 2; .type 32; .endef
	.seh_proc f_chained
f_chained:                      # primary part: push rbp, rbx; sub rsp, 0x20
	push %rbp
	.seh_pushreg %rbp
	push %rbx
	.seh_pushreg %rbx
	sub $0x20, %rsp
	.seh_stackalloc 0x20
	.seh_endprologue
	call callee
	nop
	.seh_startchained
	mov %rsi, 0x38(%rsp)       # shrink-wrapped save (into the home area) in the chained part
	.seh_savereg %rsi, 0x38
	.seh_endprologue
	call callee
	nop
	mov 0x38(%rsp), %rsi
	.seh_endchained
	add $0x20, %rsp
	pop %rbx
	pop %rbp
	ret
	.seh_endproc

	.globl f_handler
	.def f_handler; .scl 2; .type 32; .endef
	.seh_proc f_handler
	.seh_handler f_ehandler, @except, @unwind
f_handler:                      # with an exception handler
	sub $0x28, %rsp
	.seh_stackalloc 0x28
	.seh_endprologue
	call callee
	nop
	add $0x28, %rsp
	ret
	.seh_handlerdata
	.long 0x12345678
	.text
	.seh_endproc

	.globl f_ehandler
	.def f_ehandler; .scl 2; .type 32; .endef
f_ehandler:
	xor %eax, %eax
	ret

	.globl f_tail
	.def f_tail; .scl 2; .type 32; .endef
	.seh_proc f_tail
f_tail:                         # an epilog ending in a tail jump
	push %rdi
	.seh_pushreg %rdi
	sub $0x30, %rsp
	.seh_stackalloc 0x30
	.seh_endprologue
	call callee
	nop
	add $0x30, %rsp
	pop %rdi
	jmp callee
	.seh_endproc

	.globl _DllMainCRTStartup
	.def _DllMainCRTStartup; .scl 2; .type 32; .endef
_DllMainCRTStartup:
	mov $1, %eax
	ret
