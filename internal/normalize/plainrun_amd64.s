#include "textflag.h"

// Sixteen copies of '"', of '\\' and of 0x20, for PCMPEQB and PCMPGTB
// in specialBits and plainRun16.
DATA quotes<>+0(SB)/8, $0x2222222222222222
DATA quotes<>+8(SB)/8, $0x2222222222222222
GLOBL quotes<>(SB), RODATA|NOPTR, $16
DATA backslashes<>+0(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA backslashes<>+8(SB)/8, $0x5c5c5c5c5c5c5c5c
GLOBL backslashes<>(SB), RODATA|NOPTR, $16
DATA spaces<>+0(SB)/8, $0x2020202020202020
DATA spaces<>+8(SB)/8, $0x2020202020202020
GLOBL spaces<>(SB), RODATA|NOPTR, $16

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
	MOVOU quotes<>(SB), X0
	MOVOU backslashes<>(SB), X1
	MOVOU spaces<>(SB), X2

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
	MOVOU quotes<>(SB), X0
	MOVOU backslashes<>(SB), X1
	MOVOU spaces<>(SB), X2

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
