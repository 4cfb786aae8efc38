#include "textflag.h"

// LANE leaves in AX the 16-bit mask of the sixteen bytes at off(SI): a
// quote or a backslash (PCMPEQB with X0, X1), or a byte that 0x20 (X2) is
// greater than as signed bytes (PCMPGTB: control characters and bytes
// >= 0x80).
#define LANE(off) \
	MOVOU off(SI), X3 \
	MOVOU X3, X4 \
	MOVOU X3, X5 \
	MOVOU X2, X6 \
	PCMPEQB X0, X4 \
	PCMPEQB X1, X5 \
	PCMPGTB X3, X6 \
	POR X5, X4 \
	POR X6, X4 \
	PMOVMSKB X4, AX

// func specialBits(p *byte, blocks int, out *uint64)
//
// For each block of 64 bytes at p, one word at out with bit k set when
// byte k ends a plain run; the masks of its four groups of sixteen bytes
// make the word.
TEXT ·specialBits(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ blocks+8(FP), CX
	MOVQ out+16(FP), DI
	MOVQ $0x2222222222222222, AX
	MOVQ AX, X0
	PUNPCKLQDQ X0, X0
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X1
	PUNPCKLQDQ X1, X1
	MOVQ $0x2020202020202020, AX
	MOVQ AX, X2
	PUNPCKLQDQ X2, X2

block:
	TESTQ CX, CX
	JZ done
	LANE(0)
	MOVQ AX, R8
	LANE(16)
	SHLQ $16, AX
	ORQ AX, R8
	LANE(32)
	SHLQ $32, AX
	ORQ AX, R8
	LANE(48)
	SHLQ $48, AX
	ORQ AX, R8
	MOVQ R8, (DI)
	ADDQ $64, SI
	ADDQ $8, DI
	DECQ CX
	JMP block

done:
	RET
