using System.Diagnostics;
using System.Runtime;
using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Training.Benchmarks;

/// <summary>
/// Measures one <see cref="BenchmarkCase"/> in the current process with the library's own code paths: training
/// steps through the trainer's step, evaluation batches through <see cref="Evaluation"/>, the data pipeline
/// through <see cref="DataLoader"/>, and the leak check through <see cref="Trainer.Fit"/>. Inputs are synthetic.
/// </summary>
public static class Benchmark
{
    /// <summary>The synthetic data's description: CIFAR-100's shape and normalization statistics.</summary>
    private static DatasetInfo SyntheticInfo => DatasetCatalog.Info("cifar100") with { Name = "synthetic", Title = "synthetic CIFAR-100-shaped images" };

    /// <summary>Distinct batches a training or evaluation measurement cycles through.</summary>
    private const int DistinctBatches = 4;

    /// <summary>Measures <paramref name="benchmarkCase"/> here, in this process.</summary>
    public static BenchmarkResult Measure(BenchmarkCase benchmarkCase, BenchmarkSettings settings, bool isolated = false)
    {
        settings.Validate();
        if (settings.Threads is int threads) torch.set_num_threads(threads);
        _ = torch.get_num_threads();   // loads libtorch, so the baseline includes it (as "import torch" does in Python)
        long baseline = ProcessMemory.ResidentBytes;
        var (ips, seconds, epochs) = benchmarkCase.Kind switch
        {
            BenchmarkKind.Train => Timed(settings, settings.BatchSize, TrainSteps(benchmarkCase, settings)),
            BenchmarkKind.Eval => Timed(settings, settings.EvalBatchSize, EvalSteps(benchmarkCase, settings)),
            BenchmarkKind.Data => Timed(settings, settings.BatchSize, benchmarkCase.Model == "" ? DataSteps(settings) : FolderSteps(benchmarkCase.Model, settings)),
            BenchmarkKind.Leak => ([], [], LeakCheck(benchmarkCase, settings)),
            _ => throw new ArgumentOutOfRangeException(nameof(benchmarkCase)),
        };
        bool folder = benchmarkCase.Kind == BenchmarkKind.Data && benchmarkCase.Model != "";
        return new BenchmarkResult(benchmarkCase, benchmarkCase.Kind == BenchmarkKind.Eval ? settings.EvalBatchSize : settings.BatchSize,
            torch.get_num_threads(), ips, seconds, baseline, ProcessMemory.PeakResidentBytes, isolated, epochs)
        {
            DecodeThreads = folder ? settings.DecodeThreads ?? Environment.ProcessorCount : null,
        };
    }

    /// <summary>
    /// The method parameters for <paramref name="method"/>: the profile's constants (the <c>cpu</c> profile for the
    /// timed rows, <c>smoke</c> for the leak check), then the user's overrides that the method declares.
    /// </summary>
    public static IReadOnlyDictionary<string, double> MethodParameters(string method, BenchmarkSettings settings, TrainingProfile profile)
    {
        var declared = DistillerRegistry.Get(method).Parameters.Select(p => p.Name).ToHashSet();
        var result = new Dictionary<string, double>(profile.MethodDefaultsFor(method));
        foreach (var (name, value) in settings.MethodParameters)
        {
            if (declared.Contains(name)) result[name] = value;
        }
        return result;
    }

    /// <summary>
    /// Runs the warm-up, then the timed windows, of a step function (each call is one step of
    /// <paramref name="imagesPerStep"/> images); disposes the function's state at the end.
    /// </summary>
    private static (double[] ImagesPerSecond, double[] StepSeconds, IReadOnlyList<LeakEpoch>? Epochs) Timed(
        BenchmarkSettings settings, int imagesPerStep, StepLoop loop)
    {
        using (loop)
        {
            for (int i = 0; i < settings.WarmupSteps; i++) loop.Step();
            var ips = new double[settings.Windows];
            var seconds = new double[settings.Windows];
            for (int w = 0; w < settings.Windows; w++)
            {
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < settings.StepsPerWindow; i++) loop.Step();
                double elapsed = clock.Elapsed.TotalSeconds;
                ips[w] = imagesPerStep * settings.StepsPerWindow / elapsed;
                seconds[w] = elapsed / settings.StepsPerWindow;
            }
            return (ips, seconds, null);
        }
    }

    /// <summary>A step function with state to dispose.</summary>
    private sealed class StepLoop(Action step, params IDisposable[] owned) : IDisposable
    {
        public void Step() => step();

        public void Dispose()
        {
            foreach (var d in owned.Reverse()) d.Dispose();
        }
    }

    private static Distiller BuildDistiller(BenchmarkCase c, BenchmarkSettings settings, DatasetInfo info, Tensor trainLabels, TrainingProfile profile)
    {
        torch.random.manual_seed(settings.Seed);
        var student = ModelZoo.Create(c.Model, info.NumClasses, info.Channels);
        var teacher = c.Teacher is null ? null : ModelZoo.Create(c.Teacher, info.NumClasses, info.Channels);
        var context = new DistillerContext(student, teacher, trainLabels.shape[0], trainLabels, info.NumClasses, info.Channels,
            info.Height, settings.Seed);
        var distiller = DistillerRegistry.Create(c.Method, context, MethodParameters(c.Method, settings, profile));
        distiller.MoveTo(torch.CPU);
        if (settings.FoldTeacherBatchNorms && !distiller.TeacherInTrainMode) distiller.FoldTeacherBatchNorms();
        distiller.UseTeacherPrecision(TeacherPrecision.Resolve(settings.TeacherPrecision, torch.CPU));
        return distiller;
    }

    private static StepLoop TrainSteps(BenchmarkCase c, BenchmarkSettings settings)
    {
        using var gen = new Generator((ulong)settings.Seed);
        var labels = randint(0, settings.Classes, new long[] { settings.TrainImages }, dtype: ScalarType.Int64, generator: gen);
        var batches = SyntheticBatches(settings, settings.BatchSize, labels, gen);
        var distiller = BuildDistiller(c, settings, SyntheticInfo, labels, TrainingProfile.Cpu);
        distiller.train();
        var defaults = new TrainingOptions();
        var optimizer = new OptimizerSetup(distiller, defaults);
        var runner = new TrainingStepRunner(distiller, optimizer);
        int k = 0;
        return new StepLoop(() => runner.Run(batches[k++ % batches.Length], defaults.LearningRate),
            [labels, .. batches, distiller, optimizer]);
    }

    private static StepLoop EvalSteps(BenchmarkCase c, BenchmarkSettings settings)
    {
        using var gen = new Generator((ulong)settings.Seed);
        var labels = randint(0, settings.Classes, new long[] { settings.TrainImages }, dtype: ScalarType.Int64, generator: gen);
        var batches = SyntheticBatches(settings, settings.EvalBatchSize, labels, gen);
        torch.random.manual_seed(settings.Seed);
        var distiller = new StudentAlone(ModelZoo.Create(c.Model, settings.Classes, settings.Channels));
        distiller.eval();
        int k = 0;
        return new StepLoop(() =>
        {
            using var guard = no_grad();
            Evaluation.BatchSums(distiller, batches[k++ % batches.Length]);
        }, [labels, .. batches, distiller]);
    }

    private static StepLoop DataSteps(BenchmarkSettings settings)
    {
        using var gen = new Generator((ulong)settings.Seed);
        var images = randint(0, 256, new long[] { settings.TrainImages, settings.Channels, settings.ImageSize, settings.ImageSize },
            dtype: ScalarType.Byte, generator: gen);
        var labels = randint(0, settings.Classes, new long[] { settings.TrainImages }, dtype: ScalarType.Int64, generator: gen);
        var dataset = new InMemoryImageDataset("synthetic", images, labels, settings.Classes);
        var loader = new DataLoader(dataset, settings.BatchSize, shuffle: true, settings.Seed, Augmentation.Train(SyntheticInfo), torch.CPU);
        int epoch = 1;
        var cursor = new EnumeratorHolder(loader.Epoch(epoch).GetEnumerator());
        return new StepLoop(() => NextBatch(loader, cursor, ref epoch), [dataset, cursor]);
    }

    /// <summary>
    /// The data pipeline of an image-folder set through the catalog, the streamed dataset and the loader, as a training
    /// run reads it: generated files in a temporary data root (<see cref="SyntheticImageFolder"/>), the training split,
    /// the set's training augmentation, decoding ahead on <see cref="BenchmarkSettings.DecodeThreads"/> threads.
    /// </summary>
    private static StepLoop FolderSteps(string pipeline, BenchmarkSettings settings)
    {
        // Enough distinct files for a few batches; each epoch decodes them again (the OS keeps them cached, as a
        // dataset that fits in memory would be).
        var folder = pipeline switch
        {
            BenchmarkCase.PngFolder => SyntheticImageFolder.Cinic10(perClass: Math.Max(32, (2 * settings.BatchSize + 9) / 10), settings.Seed),
            BenchmarkCase.JpegFolder => SyntheticImageFolder.ImageNet(perClass: Math.Max(16, (2 * settings.BatchSize + 3) / 4), settings.Seed),
            _ => throw new ArgumentOutOfRangeException(nameof(pipeline), pipeline, "unknown data pipeline"),
        };
        try
        {
            var name = pipeline == BenchmarkCase.PngFolder ? "cinic10" : "imagenet";
            var data = DatasetCatalog.Load(name, new DataLocation(folder.Root, DataLocationSource.Argument, null),
                new DatasetLoadOptions { DecodeThreads = settings.DecodeThreads });
            var loader = new DataLoader(data.Train, settings.BatchSize, shuffle: true, settings.Seed, Augmentation.Train(data.Info), torch.CPU);
            int epoch = 1;
            var cursor = new EnumeratorHolder(loader.Epoch(epoch).GetEnumerator());
            return new StepLoop(() => NextBatch(loader, cursor, ref epoch), [folder, data, cursor]);
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>Takes the loader's next batch (the next epoch's first after the last) and disposes it.</summary>
    private static void NextBatch(DataLoader loader, EnumeratorHolder cursor, ref int epoch)
    {
        while (!cursor.Batches.MoveNext())
        {
            cursor.Batches.Dispose();
            cursor.Batches = loader.Epoch(++epoch).GetEnumerator();
        }
        cursor.Batches.Current.Dispose();
    }

    private sealed class EnumeratorHolder(IEnumerator<Batch> batches) : IDisposable
    {
        public IEnumerator<Batch> Batches { get; set; } = batches;

        public void Dispose() => Batches.Dispose();
    }

    /// <summary>Normalized random images, and labels and indices consistent with <paramref name="trainLabels"/>.</summary>
    private static Batch[] SyntheticBatches(BenchmarkSettings settings, int size, Tensor trainLabels, Generator gen)
    {
        var batches = new Batch[DistinctBatches];
        for (int i = 0; i < batches.Length; i++)
        {
            var images = randn(new long[] { size, settings.Channels, settings.ImageSize, settings.ImageSize }, generator: gen);
            var indices = randint(0, trainLabels.shape[0], new long[] { size }, dtype: ScalarType.Int64, generator: gen);
            batches[i] = new Batch(images, trainLabels.index_select(0, indices), indices);
        }
        return batches;
    }

    private static IReadOnlyList<LeakEpoch> LeakCheck(BenchmarkCase c, BenchmarkSettings settings)
    {
        const int testImages = 256;
        DatasetSplits data;
        if (settings.LeakDataset == "synthetic")
        {
            data = new DatasetSplits(SyntheticInfo,
                SyntheticDataset(settings, settings.LeakImages, settings.Seed),
                SyntheticDataset(settings, testImages, settings.Seed + 1));
        }
        else
        {
            data = Experiment.LoadData(settings.LeakDataset, settings.DataDir, settings.LeakImages, testImages, settings.Seed);
        }
        using var owned = data;
        var info = data.Info;
        using var distiller = BuildDistiller(c, settings, info, data.Train.Labels, TrainingProfile.Smoke);
        var options = new TrainingOptions
        {
            Epochs = settings.Epochs, BatchSize = settings.BatchSize, Schedule = "cosine", Milestones = [], Seed = settings.Seed,
        };
        var train = new DataLoader(data.Train, options.BatchSize, shuffle: true, options.Seed, Augmentation.Train(info), torch.CPU);
        var test = new DataLoader(data.Test, Math.Max(options.BatchSize, 256), shuffle: false, options.Seed, Augmentation.Eval(info), torch.CPU);
        var folder = Directory.CreateTempSubdirectory("distill-leak-check-");
        try
        {
            var observer = new LeakObserver();
            var trainer = new Trainer(distiller, train, test, options, new RunFolder(folder.FullName), observer,
                epoch => new CheckpointHeader(c.Model, info.NumClasses, info.Channels, info.Name, c.Method, epoch, options.Seed, double.NaN));
            trainer.Fit();
            return observer.Epochs;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static InMemoryImageDataset SyntheticDataset(BenchmarkSettings settings, int count, long seed)
    {
        using var gen = new Generator((ulong)seed);
        var images = randint(0, 256, new long[] { count, settings.Channels, settings.ImageSize, settings.ImageSize }, dtype: ScalarType.Byte, generator: gen);
        var labels = arange(count, dtype: ScalarType.Int64) % settings.Classes;
        return new InMemoryImageDataset($"synthetic-{count}", images, labels, settings.Classes);
    }

    private sealed class LeakObserver : ITrainingObserver
    {
        public List<LeakEpoch> Epochs { get; } = [];

        public void OnStep(StepProgress progress) { }

        // Retained memory, not garbage awaiting collection: the live-tensor count and the resident size are read first
        // (a tensor left to its finalizer still counts as live there), then a full blocking, compacting collection
        // runs with the finalizers, the allocator returns its free memory, and the retained size is read. Without
        // the collection the figure moved by tens of MB with the managed heap's timing alone (resnet32 alone: +18%
        // from epoch 2 to 10 with the live tensors constant, the managed heap growing from 10 to 53 MB).
        public void OnEpoch(EpochMetrics metrics, int totalEpochs)
        {
            long resident = ProcessMemory.ResidentBytes;
            long liveTensors = Tensor.TotalCount;
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            NativeAllocator.Trim();
            Epochs.Add(new LeakEpoch(metrics.Epoch, resident, ProcessMemory.ResidentBytes, liveTensors,
                GC.GetGCMemoryInfo().TotalCommittedBytes, metrics.Seconds));
        }

        public void OnMessage(string message) { }
    }
}
