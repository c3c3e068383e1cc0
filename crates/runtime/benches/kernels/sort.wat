;; Insertion sort of n pseudo-random i32s (xorshift32); the checksum folds
;; the sorted array in order.
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

  (func (export "sort") (param $n i32) (result i64)
    (local $i i32) (local $j i32) (local $x i32) (local $v i32) (local $end i32)
    (local $acc i64)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (call $ensure (local.get $end))

    (local.set $x (i32.const 2463534242))
    (loop $fill
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
      (i32.store (local.get $i) (local.get $x))
      (br_if $fill
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $end))))

    (local.set $i (i32.const 4))
    (loop $outer
      (local.set $v (i32.load (local.get $i)))
      (local.set $j (local.get $i))
      (block $placed
        (loop $shift
          (br_if $placed (i32.eqz (local.get $j)))
          (local.set $x (i32.load (i32.sub (local.get $j) (i32.const 4))))
          (br_if $placed (i32.le_s (local.get $x) (local.get $v)))
          (i32.store (local.get $j) (local.get $x))
          (local.set $j (i32.sub (local.get $j) (i32.const 4)))
          (br $shift)))
      (i32.store (local.get $j) (local.get $v))
      (br_if $outer
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $end))))

    (local.set $i (i32.const 0))
    (loop $fold
      (local.set $acc
        (i64.add (i64.mul (local.get $acc) (i64.const 31))
                 (i64.extend_i32_s (i32.load (local.get $i)))))
      (br_if $fold
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $end))))
    (local.get $acc)))
