using TorchSharp;
using TorchSharp.Modules;

namespace DistillSharp.Models;

/// <summary>The weight initializations of the reference definitions.</summary>
internal static class WeightInit
{
    /// <summary>
    /// The ResNet rule (RepDistiller resnet.py / resnetv2.py, torchvision): convolutions Kaiming-normal with
    /// fan-out and ReLU gain, batch norms weight 1 and bias 0; linear layers keep their default init.
    /// </summary>
    public static void KaimingFanOut(torch.nn.Module root)
    {
        using var noGrad = torch.no_grad();
        foreach (var module in root.modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    torch.nn.init.kaiming_normal_(conv.weight!, 0, torch.nn.init.FanInOut.FanOut, torch.nn.init.NonlinearityType.ReLU);
                    break;
                case BatchNorm2d bn:
                    ResetBatchNorm(bn);
                    break;
            }
        }
    }

    /// <summary>
    /// The rule of RepDistiller's wrn.py, vgg.py and mobilenetv2.py: convolutions normal with standard
    /// deviation sqrt(2 / (k_h * k_w * out_channels)) and zero bias, batch norms weight 1 and bias 0, linear
    /// layers zero bias and, when <paramref name="linearStd"/> is given, normal weights of that deviation
    /// (otherwise the default weight init is kept, as wrn.py does). With <paramref name="zeroLinearBias"/> false the
    /// linear bias keeps its default init too (PyramidNet.py's rule).
    /// </summary>
    public static void FanOutNormal(torch.nn.Module root, double? linearStd, bool zeroLinearBias = true)
    {
        using var noGrad = torch.no_grad();
        foreach (var module in root.modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    var fanOut = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels;
                    torch.nn.init.normal_(conv.weight!, 0, Math.Sqrt(2.0 / fanOut));
                    if (conv.bias is not null) torch.nn.init.zeros_(conv.bias);
                    break;
                case BatchNorm2d bn:
                    ResetBatchNorm(bn);
                    break;
                case Linear linear:
                    if (linearStd is double std) torch.nn.init.normal_(linear.weight!, 0, std);
                    if (zeroLinearBias && linear.bias is not null) torch.nn.init.zeros_(linear.bias);
                    break;
            }
        }
    }

    private static void ResetBatchNorm(BatchNorm2d bn)
    {
        torch.nn.init.ones_(bn.weight!);
        torch.nn.init.zeros_(bn.bias!);
    }
}
