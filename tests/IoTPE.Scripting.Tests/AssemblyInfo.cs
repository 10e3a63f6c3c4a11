// Several tests measure time (budgets, parallel owners); running test classes side by side on a
// 2-core machine would make those measurements depend on the other classes.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
