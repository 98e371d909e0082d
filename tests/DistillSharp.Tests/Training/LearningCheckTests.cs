using DistillSharp.Tests.Data;
using DistillSharp.Tests.Support;
using DistillSharp.Training;

namespace DistillSharp.Tests.Training;

[Collection(TrainingCollection.Name)]
public sealed class LearningCheckTests
{
    /// <summary>
    /// resnet8 on 4,000 Fashion-MNIST training images (class-balanced), one epoch, batch 64, SGD 0.9 with a cosine
    /// rate from 0.05, tested on 2,000 test images. Chance is 10%. The threshold, 40%, is four times chance: seeds
    /// 1 to 4 give 49–56% here, and PyTorch on the same recipe lands in the same range (its first-epoch test
    /// accuracy swings with the BatchNorm running statistics, which is why the schedule decays to 0 within the
    /// epoch). A pipeline that breaks the labels, the normalisation or the gradient stays near 10%.
    /// </summary>
    [DebianFashionMnistFact]
    public void ASmallModelLearnsFashionMnistInOneEpoch()
    {
        var spec = new RunSpec
        {
            Method = "none", Student = "resnet8", Dataset = "fashion-mnist", TrainSubset = 4000, TestSubset = 2000, Device = "cpu",
            Options = new TrainingOptions { Epochs = 1, BatchSize = 64, LearningRate = 0.05, Schedule = "cosine", Milestones = [], Seed = 1 },
        };
        var result = Experiment.Run(spec, outFolder: null);
        Assert.True(result.Last.TestTop1 > 40, $"test top-1 {result.Last.TestTop1:F2}% is not well above chance (10%)");
        Assert.True(result.Last.TestTop5 > result.Last.TestTop1);
    }
}
