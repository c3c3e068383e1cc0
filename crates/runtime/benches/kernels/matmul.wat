;; f64 matrix multiply C = A * B of n x n row-major matrices in linear memory
;; (A at 0, B after A, C after B). The entries are small integers, so every
;; sum is exact; the checksum folds the entries of C in order.
(module
  (memory 1)

  ;; Grows the memory to hold at least $bytes bytes.
  (func $ensure (param $bytes i32)
    (local $pages i32)
    (local.set $pages
      (i32.shr_u (i32.add (local.get $bytes) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size)))
                    (i32.const -1))
          (then unreachable)))))

  (func (export "matmul") (param $n i32) (result i64)
    (local $i i32) (local $j i32) (local $k i32)
    (local $b i32) (local $c i32) (local $off i32)
    (local $pa i32) (local $pb i32) (local $stride i32)
    (local $sum f64) (local $acc i64)
    (local.set $stride (i32.shl (local.get $n) (i32.const 3)))
    (local.set $b (i32.mul (local.get $stride) (local.get $n)))
    (local.set $c (i32.shl (local.get $b) (i32.const 1)))
    (call $ensure (i32.add (local.get $c) (local.get $b)))

    ;; A[i][j] = (3i + 5j) mod 17 - 8,  B[i][j] = (7i + j) mod 13 - 6
    (loop $init_i
      (local.set $j (i32.const 0))
      (loop $init_j
        (local.set $off
          (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j))
                   (i32.const 3)))
        (f64.store (local.get $off)
          (f64.convert_i32_s
            (i32.sub
              (i32.rem_u
                (i32.add (i32.mul (local.get $i) (i32.const 3))
                         (i32.mul (local.get $j) (i32.const 5)))
                (i32.const 17))
              (i32.const 8))))
        (f64.store (i32.add (local.get $b) (local.get $off))
          (f64.convert_i32_s
            (i32.sub
              (i32.rem_u
                (i32.add (i32.mul (local.get $i) (i32.const 7)) (local.get $j))
                (i32.const 13))
              (i32.const 6))))
        (br_if $init_j
          (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $n))))
      (br_if $init_i
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))

    ;; C[i][j] = sum over k of A[i][k] * B[k][j]
    (local.set $off (local.get $c))
    (local.set $i (i32.const 0))
    (loop $mul_i
      (local.set $j (i32.const 0))
      (loop $mul_j
        (local.set $pa (i32.mul (local.get $i) (local.get $stride)))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 3))))
        (local.set $sum (f64.const 0))
        (local.set $k (i32.const 0))
        (loop $mul_k
          (local.set $sum
            (f64.add (local.get $sum)
              (f64.mul (f64.load (local.get $pa)) (f64.load (local.get $pb)))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 8)))
          (local.set $pb (i32.add (local.get $pb) (local.get $stride)))
          (br_if $mul_k
            (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $n))))
        (f64.store (local.get $off) (local.get $sum))
        (local.set $off (i32.add (local.get $off) (i32.const 8)))
        (local.set $acc
          (i64.add (i64.mul (local.get $acc) (i64.const 31))
                   (i64.trunc_f64_s (local.get $sum))))
        (br_if $mul_j
          (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $n))))
      (br_if $mul_i
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $acc)))
