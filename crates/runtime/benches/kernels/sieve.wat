;; Sieve of Eratosthenes over n flag bytes; checksum from the primes below n.
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

  (func (export "sieve") (param $n i32) (result i64)
    (local $i i32) (local $j i32) (local $count i64) (local $sum i64)
    (call $ensure (local.get $n))

    ;; flags[0..n) = 1
    (loop $init
      (i32.store8 (local.get $i) (i32.const 1))
      (br_if $init
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))

    ;; cross out the multiples of every prime i with i * i < n
    (local.set $i (i32.const 2))
    (block $done
      (loop $outer
        (br_if $done
          (i32.ge_u (i32.mul (local.get $i) (local.get $i)) (local.get $n)))
        (if (i32.load8_u (local.get $i))
          (then
            (local.set $j (i32.mul (local.get $i) (local.get $i)))
            (loop $cross
              (i32.store8 (local.get $j) (i32.const 0))
              (br_if $cross
                (i32.lt_u (local.tee $j (i32.add (local.get $j) (local.get $i)))
                          (local.get $n))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))

    ;; count and sum the primes
    (local.set $i (i32.const 2))
    (loop $scan
      (if (i32.load8_u (local.get $i))
        (then
          (local.set $count (i64.add (local.get $count) (i64.const 1)))
          (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (local.get $i))))))
      (br_if $scan
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i64.add (i64.mul (local.get $sum) (i64.const 31)) (local.get $count))))
