// ARM64 functions covering packed unwind data and the .xdata unwind codes, for
// the decoder's and the stack walker's tests. Built by gen.sh; llvm-readobj
// --unwind's view of the result is unwind-arm64.dll.llvm-readobj.txt. Each
// function calls "callee" once.
	.text
	.globl callee
	.p2align 2
callee:                          // a leaf: no .pdata entry, returns through lr
	ret

	.globl a_fplr
	.p2align 2
	.seh_proc a_fplr
a_fplr:                          // packed: CR=3, frame of 16
	stp x29, x30, [sp, #-16]!
	.seh_save_fplr_x 16
	mov x29, sp
	.seh_set_fp
	.seh_endprologue
	bl callee
	.seh_startepilogue
	ldp x29, x30, [sp], #16
	.seh_save_fplr_x 16
	.seh_endepilogue
	ret
	.seh_endproc

	.globl a_regs
	.p2align 2
	.seh_proc a_regs
a_regs:                          // packed: RegI=3, CR=3, frame of 64
	stp x19, x20, [sp, #-32]!
	.seh_save_regp_x x19, 32
	str x21, [sp, #16]
	.seh_save_reg x21, 16
	stp x29, x30, [sp, #-32]!
	.seh_save_fplr_x 32
	mov x29, sp
	.seh_set_fp
	.seh_endprologue
	bl callee
	.seh_startepilogue
	ldp x29, x30, [sp], #32
	.seh_save_fplr_x 32
	ldr x21, [sp, #16]
	.seh_save_reg x21, 16
	ldp x19, x20, [sp], #32
	.seh_save_regp_x x19, 32
	.seh_endepilogue
	ret
	.seh_endproc

	.globl a_lr
	.p2align 2
	.seh_proc a_lr
a_lr:                            // packed: RegI=2, CR=1 (lr in the save area), frame of 64
	stp x19, x20, [sp, #-32]!
	.seh_save_regp_x x19, 32
	str x30, [sp, #16]
	.seh_save_reg x30, 16
	sub sp, sp, #32
	.seh_stackalloc 32
	.seh_endprologue
	bl callee
	.seh_startepilogue
	add sp, sp, #32
	.seh_stackalloc 32
	ldr x30, [sp, #16]
	.seh_save_reg x30, 16
	ldp x19, x20, [sp], #32
	.seh_save_regp_x x19, 32
	.seh_endepilogue
	ret
	.seh_endproc

	.globl a_fregs
	.p2align 2
	.seh_proc a_fregs
a_fregs:                         // packed: RegF=1 pre-decremented, then lr, frame of 48
	stp d8, d9, [sp, #-32]!
	.seh_save_fregp_x d8, 32
	str x30, [sp, #16]
	.seh_save_reg x30, 16
	sub sp, sp, #16
	.seh_stackalloc 16
	.seh_endprologue
	bl callee
	.seh_startepilogue
	add sp, sp, #16
	.seh_stackalloc 16
	ldr x30, [sp, #16]
	.seh_save_reg x30, 16
	ldp d8, d9, [sp], #32
	.seh_save_fregp_x d8, 32
	.seh_endepilogue
	ret
	.seh_endproc

	.globl a_full
	.p2align 2
	.seh_proc a_full
a_full:                          // .xdata: save_next, save_reg, save_freg, save_fplr, add_fp, alloc_m, nop; two epilogs
	stp x19, x20, [sp, #-80]!
	.seh_save_regp_x x19, 80
	stp x21, x22, [sp, #16]
	.seh_save_next
	str x23, [sp, #32]
	.seh_save_reg x23, 32
	str d8, [sp, #40]
	.seh_save_freg d8, 40
	stp x29, x30, [sp, #48]
	.seh_save_fplr 48
	add x29, sp, #48
	.seh_add_fp 48
	sub sp, sp, #0x1000
	.seh_stackalloc 0x1000
	mov x9, x0
	.seh_nop
	.seh_endprologue
	bl callee
	cbz x0, 1f
	.seh_startepilogue
	add sp, sp, #0x1000
	.seh_stackalloc 0x1000
	ldp x29, x30, [sp, #48]
	.seh_save_fplr 48
	ldr d8, [sp, #40]
	.seh_save_freg d8, 40
	ldr x23, [sp, #32]
	.seh_save_reg x23, 32
	ldp x21, x22, [sp, #16]
	.seh_save_next
	ldp x19, x20, [sp], #80
	.seh_save_regp_x x19, 80
	.seh_endepilogue
	ret
1:	mov x0, #1
	.seh_startepilogue
	sub sp, x29, #48
	.seh_add_fp 48
	ldp x29, x30, [sp, #48]
	.seh_save_fplr 48
	ldr d8, [sp, #40]
	.seh_save_freg d8, 40
	ldr x23, [sp, #32]
	.seh_save_reg x23, 32
	ldp x21, x22, [sp, #16]
	.seh_save_next
	ldp x19, x20, [sp], #80
	.seh_save_regp_x x19, 80
	.seh_endepilogue
	ret
	.seh_endproc

	.globl a_big
	.p2align 2
	.seh_proc a_big
a_big:                           // alloc_l, save_r19r20_x, save_fregp, save_freg_x
	str d10, [sp, #-16]!
	.seh_save_freg_x d10, 16
	stp x19, x20, [sp, #-16]!
	.seh_save_r19r20_x 16
	stp d8, d9, [sp, #-16]!
	.seh_save_fregp_x d8, 16
	stp x29, x30, [sp, #-16]!
	.seh_save_fplr_x 16
	mov x29, sp
	.seh_set_fp
	sub sp, sp, #0x10, lsl #12
	.seh_stackalloc 0x10000
	.seh_endprologue
	bl callee
	.seh_startepilogue
	mov sp, x29
	.seh_set_fp
	ldp x29, x30, [sp], #16
	.seh_save_fplr_x 16
	ldp d8, d9, [sp], #16
	.seh_save_fregp_x d8, 16
	ldp x19, x20, [sp], #16
	.seh_save_r19r20_x 16
	ldr d10, [sp], #16
	.seh_save_freg_x d10, 16
	.seh_endepilogue
	ret
	.seh_endproc

	.globl a_lrpair
	.p2align 2
	.seh_proc a_lrpair
a_lrpair:                        // save_lrpair, save_regp, save_fregp
	sub sp, sp, #64
	.seh_stackalloc 64
	stp x19, x30, [sp, #16]
	.seh_save_lrpair x19, 16
	stp x21, x22, [sp, #32]
	.seh_save_regp x21, 32
	stp d12, d13, [sp, #48]
	.seh_save_fregp d12, 48
	.seh_endprologue
	bl callee
	.seh_startepilogue
	ldp d12, d13, [sp, #48]
	.seh_save_fregp d12, 48
	ldp x21, x22, [sp, #32]
	.seh_save_regp x21, 32
	ldp x19, x30, [sp, #16]
	.seh_save_lrpair x19, 16
	add sp, sp, #64
	.seh_stackalloc 64
	.seh_endepilogue
	ret
	.seh_endproc

	.globl a_machframe
	.p2align 2
	.seh_proc a_machframe
a_machframe:                     // an interrupt-style frame: sp points at {sp, pc}
	.seh_pushframe
	stp x29, x30, [sp, #-16]!
	.seh_save_fplr_x 16
	.seh_endprologue
	bl callee
	.seh_startepilogue
	ldp x29, x30, [sp], #16
	.seh_save_fplr_x 16
	.seh_endepilogue
	ret
	.seh_endproc

	.globl a_context
	.p2align 2
	.seh_proc a_context
a_context:                       // sp points at a whole ARM64_NT_CONTEXT
	.seh_context
	sub sp, sp, #16
	.seh_stackalloc 16
	.seh_endprologue
	bl callee
	.seh_startepilogue
	add sp, sp, #16
	.seh_stackalloc 16
	.seh_endepilogue
	ret
	.seh_endproc

	.globl _DllMainCRTStartup
	.p2align 2
_DllMainCRTStartup:
	mov w0, #1
	ret
