// Single-precision GEMM for the trainer, compiled for x86-64-v3 (AVX2 + FMA): this module is
// only entered after `rn_cpu_has_avx2_fma()` said yes (RNTrainKernels/SGEMM.swift dispatches).
//
// Goto-style blocking: B is packed in panels of 16 columns, A in panels of 6 rows, and a 6x16
// register tile (12 eight-lane accumulators) runs over a K block with one FMA per lane per
// multiply. Edges are zero-padded in packing and written back through a small tile.

let mr = 6, nr = 16
let kc = 256, mc = 96, nc = 2048

/// C[m x n] = (accumulate ? C : 0) + op(A)[m x k] * op(B)[k x n]; row-major, leading dimensions
/// in elements. op(A) = A (m x k, lda) or, when `transA`, A stored k x m. Same for B.
@inline(never)
public func sgemmAVX2(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    let packedA = UnsafeMutablePointer<Float>.allocate(capacity: ((mc + mr - 1) / mr) * mr * kc)
    let packedB = UnsafeMutablePointer<Float>.allocate(capacity: ((nc + nr - 1) / nr) * nr * kc)
    defer { packedA.deallocate(); packedB.deallocate() }
    if k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    var jc = 0
    while jc < n {
        let nb = min(nc, n - jc)
        var pc = 0
        while pc < k {
            let kb = min(kc, k - pc)
            // Likewise row-major B is read in place by full 16-column panels.
            let directB = !transB
            if !directB || nb % nr != 0 { packB(transB, b, ldb, row: pc, col: jc, kb: kb, nb: nb, into: packedB) }
            let addTo = accumulate || pc > 0
            var ic = 0
            while ic < m {
                let mb = min(mc, m - ic)
                // Row-major A is read in place by full 6-row tiles; only transposed A and the last
                // partial tile are packed.
                let direct = !transA
                if !direct || mb % mr != 0 { packA(transA, a, lda, row: ic, col: pc, mb: mb, kb: kb, into: packedA) }
                var jr = 0
                while jr < nb {
                    let nrr = min(nr, nb - jr)
                    var ir = 0
                    while ir < mb {
                        let mrr = min(mr, mb - ir)
                        let cTile = c + (ic + ir) * ldc + jc + jr
                        let inPlaceB = directB && nrr == nr
                        let bPanel = inPlaceB ? b + pc * ldb + jc + jr : UnsafePointer(packedB + jr * kb)
                        let bStride = inPlaceB ? ldb : nr
                        if direct && mrr == mr {
                            kernel6x16(kb, a + (ic + ir) * lda + pc, rowStride: lda, kStride: 1, bPanel, bStride: bStride,
                                       cTile, ldc, rows: mrr, cols: nrr, accumulate: addTo)
                        } else {
                            kernel6x16(kb, packedA + ir * kb, rowStride: 1, kStride: mr, bPanel, bStride: bStride,
                                       cTile, ldc, rows: mrr, cols: nrr, accumulate: addTo)
                        }
                        ir += mr
                    }
                    jr += nr
                }
                ic += mc
            }
            pc += kc
        }
        jc += nc
    }
}

/// Packs op(B)[row..<row+kb][col..<col+nb] as panels of 16 columns: panel p, step kk, lane j at
/// p * kb * 16 + kk * 16 + j; columns past the edge are zero.
@inline(__always)
func packB(_ trans: Bool, _ b: UnsafePointer<Float>, _ ldb: Int, row: Int, col: Int, kb: Int, nb: Int,
           into out: UnsafeMutablePointer<Float>) {
    var p = 0
    while p < nb {
        let width = min(nr, nb - p)
        let panel = out + p * kb
        for kk in 0..<kb {
            let dst = panel + kk * nr
            if trans {
                // op(B)[r][c] = B[c][r]
                for j in 0..<width { dst[j] = b[(col + p + j) * ldb + row + kk] }
            } else {
                let src = b + (row + kk) * ldb + col + p
                if width == nr {
                    (UnsafeMutableRawPointer(dst)).storeBytes(of: UnsafeRawPointer(src).loadUnaligned(as: SIMD16<Float>.self),
                                                              as: SIMD16<Float>.self)
                    continue
                }
                for j in 0..<width { dst[j] = src[j] }
            }
            for j in width..<nr { dst[j] = 0 }
        }
        p += nr
    }
}

/// Packs op(A)[row..<row+mb][col..<col+kb] as panels of 6 rows: panel q, step kk, lane i at
/// q * kb * 6 + kk * 6 + i; rows past the edge are zero.
@inline(__always)
func packA(_ trans: Bool, _ a: UnsafePointer<Float>, _ lda: Int, row: Int, col: Int, mb: Int, kb: Int,
           into out: UnsafeMutablePointer<Float>) {
    var q = 0
    while q < mb {
        let height = min(mr, mb - q)
        let panel = out + q * kb
        for kk in 0..<kb {
            let dst = panel + kk * mr
            for i in 0..<height {
                dst[i] = trans ? a[(col + kk) * lda + row + q + i] : a[(row + q + i) * lda + col + kk]
            }
            for i in height..<mr { dst[i] = 0 }
        }
        q += mr
    }
}

typealias V8 = SIMD8<Float>

/// The 6x16 register tile: C[0..<rows][0..<cols] (+)= A * B over kb steps. A's element (row r,
/// step kk) is at a[r * rowStride + kk * kStride]: packed panels use (1, 6), row-major A in
/// place uses (lda, 1). B's 16 columns of step kk start at b + kk * bStride (16 when packed,
/// ldb in place).
@inline(__always)
func kernel6x16(_ kb: Int, _ a: UnsafePointer<Float>, rowStride: Int, kStride: Int, _ b: UnsafePointer<Float>,
                bStride: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, rows: Int, cols: Int, accumulate: Bool) {
    var c00 = V8(), c01 = V8(), c10 = V8(), c11 = V8(), c20 = V8(), c21 = V8()
    var c30 = V8(), c31 = V8(), c40 = V8(), c41 = V8(), c50 = V8(), c51 = V8()
    let a0 = a, a1 = a + rowStride, a2 = a + 2 * rowStride, a3 = a + 3 * rowStride
    let a4 = a + 4 * rowStride, a5 = a + 5 * rowStride
    var bp = UnsafeRawPointer(b)
    var at = 0
    for _ in 0..<kb {
        let b0 = bp.loadUnaligned(as: V8.self)
        let b1 = bp.loadUnaligned(fromByteOffset: 32, as: V8.self)
        var x = V8(repeating: a0[at]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
        x = V8(repeating: a1[at]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
        x = V8(repeating: a2[at]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
        x = V8(repeating: a3[at]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
        x = V8(repeating: a4[at]); c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
        x = V8(repeating: a5[at]); c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
        at += kStride
        bp += bStride * 4
    }
    if rows == mr && cols == nr {
        @inline(__always) func store(_ r: Int, _ lo: V8, _ hi: V8) {
            let p = UnsafeMutableRawPointer(c + r * ldc)
            if accumulate {
                p.storeBytes(of: p.loadUnaligned(as: V8.self) + lo, as: V8.self)
                p.storeBytes(of: p.loadUnaligned(fromByteOffset: 32, as: V8.self) + hi, toByteOffset: 32, as: V8.self)
            } else {
                p.storeBytes(of: lo, as: V8.self)
                p.storeBytes(of: hi, toByteOffset: 32, as: V8.self)
            }
        }
        store(0, c00, c01); store(1, c10, c11); store(2, c20, c21)
        store(3, c30, c31); store(4, c40, c41); store(5, c50, c51)
        return
    }
    var tile = (c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51)
    withUnsafeBytes(of: &tile) { raw in
        let t = raw.bindMemory(to: Float.self)     // (6, 16) row-major
        for r in 0..<rows {
            for j in 0..<cols {
                let v = t[r * nr + j]
                c[r * ldc + j] = accumulate ? c[r * ldc + j] + v : v
            }
        }
    }
}
