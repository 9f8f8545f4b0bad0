using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace OrderTrace.Tests
{
    /// <summary>Marks a test method (public, static or instance, no parameters).</summary>
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class TestAttribute : Attribute { }

    /// <summary>Thrown by the assertions.</summary>
    internal sealed class AssertionFailed : Exception
    {
        public AssertionFailed(string message) : base(message) { }
    }

    internal static class Assert
    {
        public static void True(bool condition, string what)
        {
            if (!condition) throw new AssertionFailed(what);
        }

        public static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
                throw new AssertionFailed(what + ": expected <" + expected + "> but was <" + actual + ">");
        }

        public static TException Throws<TException>(Action action, string what) where TException : Exception
        {
            try
            {
                action();
            }
            catch (TException e)
            {
                return e;
            }
            catch (Exception e)
            {
                throw new AssertionFailed(what + ": expected " + typeof(TException).Name + " but got " + e.GetType().Name + ": " + e.Message);
            }
            throw new AssertionFailed(what + ": expected " + typeof(TException).Name + " but nothing was thrown");
        }
    }

    /// <summary>Runs every [Test] of this assembly; prints "N passed, N failed"; exit code 1 on failure.</summary>
    internal static class Runner
    {
        private static int Main(string[] args)
        {
            if (args.Length >= 1 && args[0] == "--stress")
            {
                return Stress.Run(args.Skip(1).ToArray());
            }
            var filter = args.Length >= 1 ? args[0] : null;
            var tests = typeof(Runner).Assembly.GetTypes()
                .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
                .Where(m => m.GetCustomAttributes(typeof(TestAttribute), false).Length > 0)
                .Where(m => filter == null || (m.DeclaringType.Name + "." + m.Name).Contains(filter))
                .OrderBy(m => m.DeclaringType.Name).ThenBy(m => m.Name)
                .ToList();
            int passed = 0, failed = 0;
            foreach (var test in tests)
            {
                var name = test.DeclaringType.Name + "." + test.Name;
                try
                {
                    var target = test.IsStatic ? null : Activator.CreateInstance(test.DeclaringType);
                    try
                    {
                        test.Invoke(target, null);
                    }
                    finally
                    {
                        var d = target as IDisposable;
                        if (d != null) d.Dispose();
                    }
                    passed++;
                    Console.WriteLine("ok   " + name);
                }
                catch (TargetInvocationException e)
                {
                    failed++;
                    Console.WriteLine("FAIL " + name + ": " + e.InnerException);
                }
                catch (Exception e)
                {
                    failed++;
                    Console.WriteLine("FAIL " + name + ": " + e);
                }
            }
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 && passed > 0 ? 0 : 1;
        }
    }
}
