#include "textflag.h"

// func plainRun16(p *byte, n int) int
//
// Sixteen bytes at a time: each is compared with a quote and with a
// backslash (PCMPEQB), and 0x20 is compared greater than it as signed bytes
// (PCMPGTB), which is true for control characters and for bytes >= 0x80
// alike. PMOVMSKB packs the sixteen results into a mask whose lowest set
// bit is the first byte that ends a plain run.
TEXT ·plainRun16(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	XORQ DX, DX
	MOVQ $0x2222222222222222, AX
	MOVQ AX, X0
	PUNPCKLQDQ X0, X0
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X1
	PUNPCKLQDQ X1, X1
	MOVQ $0x2020202020202020, AX
	MOVQ AX, X2
	PUNPCKLQDQ X2, X2

loop:
	LEAQ 16(DX), AX
	CMPQ AX, CX
	JGT done
	MOVOU (SI)(DX*1), X3
	MOVOU X3, X4
	MOVOU X2, X5
	PCMPEQB X0, X3
	PCMPGTB X4, X5
	PCMPEQB X1, X4
	POR X4, X3
	POR X5, X3
	PMOVMSKB X3, BX
	TESTL BX, BX
	JNZ found
	MOVQ AX, DX
	JMP loop

found:
	BSFL BX, BX
	ADDQ BX, DX

done:
	MOVQ DX, ret+16(FP)
	RET
