/* One tiny shared library of the fixtures (scripts/make-fixtures.sh builds it many times).
 * FN     the exported function, e.g. -DFN=foo_value
 * VALUE  what it adds, so that two builds of the same library (baseline and glibc-hwcaps,
 *        tls/ and plain) can be told apart when the program runs
 * DEP    optional: a function of another library this one needs (-DDEP=bar_value), which
 *        makes the linker record that library in this one's DT_NEEDED */
#ifdef DEP
int DEP(void);
#endif

int FN(void)
{
#ifdef DEP
    return VALUE + DEP();
#else
    return VALUE;
#endif
}
