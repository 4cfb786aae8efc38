#include "textflag.h"

// func blockMasks(p *[64]byte) (q, b uint64)
//
// Each 16-byte quarter of the block is compared with 16 quotes and with 16
// backslashes (PCMPEQB); PMOVMSKB packs the comparison's bytes into 16
// bits, which are shifted into place.
TEXT ·blockMasks(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ $0x2222222222222222, AX
	MOVQ AX, X0
	PUNPCKLQDQ X0, X0
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X1
	PUNPCKLQDQ X1, X1

	MOVOU 0(SI), X2
	MOVOU X2, X3
	PCMPEQB X0, X2
	PCMPEQB X1, X3
	PMOVMSKB X2, R8
	PMOVMSKB X3, R9

	MOVOU 16(SI), X2
	MOVOU X2, X3
	PCMPEQB X0, X2
	PCMPEQB X1, X3
	PMOVMSKB X2, AX
	PMOVMSKB X3, BX
	SHLQ $16, AX
	SHLQ $16, BX
	ORQ AX, R8
	ORQ BX, R9

	MOVOU 32(SI), X2
	MOVOU X2, X3
	PCMPEQB X0, X2
	PCMPEQB X1, X3
	PMOVMSKB X2, AX
	PMOVMSKB X3, BX
	SHLQ $32, AX
	SHLQ $32, BX
	ORQ AX, R8
	ORQ BX, R9

	MOVOU 48(SI), X2
	MOVOU X2, X3
	PCMPEQB X0, X2
	PCMPEQB X1, X3
	PMOVMSKB X2, AX
	PMOVMSKB X3, BX
	SHLQ $48, AX
	SHLQ $48, BX
	ORQ AX, R8
	ORQ BX, R9

	MOVQ R8, q+8(FP)
	MOVQ R9, b+16(FP)
	RET
