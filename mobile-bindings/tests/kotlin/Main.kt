// A small test runner for the Kotlin suite (no JUnit needed): runs every case of every group,
// each under a time limit so a call that blocks forever fails its case instead of the run, and
// ends with the plain line `N passed, N failed`. Assertions are kotlin.test's.
//
//   java -cp … fieldseal.kotlintest.MainKt [name filter]
package fieldseal.kotlintest

import java.util.concurrent.Callable
import java.util.concurrent.ExecutionException
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.TimeoutException
import kotlin.system.exitProcess

/** One test: a name that says the behaviour, and its body. */
class Case(val name: String, val body: () -> Unit)

/** Cases sharing a fixture: `before` runs once before them, `after` once after them. */
abstract class Group(val name: String) {
    open fun before() {}
    open fun after() {}
    abstract fun cases(): List<Case>
}

/** Time limit of one case; the whole shift takes well under a minute on a debug build. */
const val CASE_LIMIT_SECONDS = 300L

fun main(args: Array<String>) {
    val filter = args.firstOrNull() ?: ""
    val groups = listOf(OfficerShift(), BadInput(), AppHttpClient(), KotlinDeveloper())
    var passed = 0
    var failed = 0
    val pool = Executors.newCachedThreadPool { r -> Thread(r, "test-case").apply { isDaemon = true } }
    for (group in groups) {
        val cases = group.cases().filter { "${group.name}: ${it.name}".contains(filter) }
        if (cases.isEmpty()) continue
        try {
            group.before()
        } catch (e: Throwable) {
            println("FAIL ${group.name}: setup: $e")
            e.printStackTrace(System.out)
            failed += cases.size
            continue
        }
        for (case in cases) {
            val started = System.nanoTime()
            val outcome = pool.submit(Callable { case.body() })
            val error: Throwable? = try {
                outcome.get(CASE_LIMIT_SECONDS, TimeUnit.SECONDS)
                null
            } catch (e: ExecutionException) {
                e.cause ?: e
            } catch (e: TimeoutException) {
                outcome.cancel(true)
                AssertionError("did not finish within $CASE_LIMIT_SECONDS s (a call blocked)")
            }
            val secs = "%.1f s".format((System.nanoTime() - started) / 1e9)
            if (error == null) {
                passed++
                println("ok   ${group.name}: ${case.name} ($secs)")
            } else {
                failed++
                println("FAIL ${group.name}: ${case.name} ($secs): $error")
                error.printStackTrace(System.out)
            }
        }
        try {
            group.after()
        } catch (e: Throwable) {
            println("FAIL ${group.name}: teardown: $e")
            failed++
        }
    }
    if (passed + failed == 0) {
        println("no case matches \"$filter\"")
        failed = 1
    }
    println("$passed passed, $failed failed")
    System.out.flush()
    // halt, not exit: a case that timed out may still hold a thread inside a native call.
    Runtime.getRuntime().halt(if (failed == 0) 0 else 1)
}
