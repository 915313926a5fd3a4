"""`--route auto`: a routing policy calibrated by evals (which profile for which kind of task), and its use."""
