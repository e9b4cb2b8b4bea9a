"""The message catalogue: every sentence a learner reads, keyed, one table per language.

Formulas are built from the run's numbers in ``gradfit.explain.sections``; the prose around
them lives here. The Chinese uses the terms of Chinese textbooks: 损失函数, 梯度, 学习率（步长）,
链式法则, 偏导数, 最小二乘.
"""

from __future__ import annotations

from gradfit.errors import ConfigError

LANGUAGES = ("en", "zh")

EN: dict[str, str] = {
    # gradfit demo
    "demo.title": "gradfit demo: the tutorial, replayed (data set: {name})",
    "demo.data": "Data       train x = {x_train}, y = {y_train};  test x = {x_test}, y = {y_test}",
    "demo.model": "Model      f(x) = w·x + b",
    "demo.loss": "Loss       Loss(w, b) = Σᵢ (w·xᵢ + b − yᵢ)²   (a sum over the {n} training rows)",
    "demo.gradient": "Gradient   ∂Loss/∂w = Σᵢ 2(w·xᵢ + b − yᵢ)·xᵢ     ∂Loss/∂b = Σᵢ 2(w·xᵢ + b − yᵢ)",
    "demo.update": "Update     w ← w − λ·∂Loss/∂w,  b ← b − λ·∂Loss/∂b     with λ = {lr}, w₀ = {w0}, b₀ = {b0}",
    "demo.first_step": "First step",
    "demo.loss0": "  Loss({w0}, {b0}) = {loss0}",
    "demo.grad0": "  ∂Loss/∂w = {gw},  ∂Loss/∂b = {gb}",
    "demo.w1": "  w₁ = w₀ − λ·∂Loss/∂w = {w0} − {lr} × ({gw}) = {w1}",
    "demo.b1": "  b₁ = b₀ − λ·∂Loss/∂b = {b0} − {lr} × ({gb}) = {b1}",
    "demo.loss1": "  Loss(w₁, b₁) = Loss({w1}, {b1}) = {loss1}",
    "demo.after": "After {iters} iterations",
    "demo.final_w": "  w = {w}",
    "demo.final_b": "  b = {b}",
    "demo.final_loss": "  Loss(w, b) = {loss}",
    "demo.test": "Test row",
    "demo.prediction": "  f({x}) = {prediction}   (target {y}; loss (f({x}) − {y})² = {loss})",
    "demo.figure": "Figure written to {path}",
    "plots.written": "Figures written: {paths}",
    # gradfit explain
    "explain.title_one": "How gradient descent fitted this line ({rows} rows, one feature)",
    "explain.title_many": "How gradient descent fitted this model ({rows} rows, {features} features)",
    "derive.title": "1. The derivation",
    "derive.model1": "The model is a straight line. For an input x it predicts f(x) from a weight w "
                     "(the slope) and a bias b (where the line crosses x = 0):",
    "derive.model_vec": "The model weighs each feature and adds a bias: one weight wⱼ per feature xⱼ.",
    "derive.sample_loss": "How wrong is it on one row? The per-sample loss is the squared error between "
                          "the prediction and the target:",
    "derive.total_sum": "The loss function adds that up over all {n} training rows. It depends only on the "
                        "parameters; the data are fixed numbers:",
    "derive.total_mean": "The loss function averages that over all {n} training rows (the mean squared "
                         "error). It depends only on the parameters; the data are fixed numbers:",
    "derive.chain": "To walk downhill we need the gradient: the partial derivative of the loss with respect "
                    "to each parameter. Each term is a square of an inner expression, so the chain rule "
                    "gives: derivative of the outside (2 × inside) times derivative of the inside.",
    "derive.gradient": "The derivative of a sum is the sum of the derivatives, so the gradient of the "
                       "whole loss is:",
    "derive.update": "Gradient descent takes a small step against the gradient, again and again. The "
                     "learning rate (step size) λ = {lr} sets how far; the run starts at {start}:",
    "step.title": "2. The first step, with this run's numbers",
    "step.loss": "Put the starting values into the loss function, row by row:",
    "step.gradient": "The gradient at the start, term by term (a negative slope says: increase this "
                     "parameter):",
    "step.update": "Step against the gradient with λ = {lr}:",
    "step.new_loss": "The loss went from {before} to {after}: the step went downhill.",
    "step.new_loss_up": "The loss went from {before} to {after}: the step overshot the bottom, the learning "
                        "rate is too large.",
    "step.other_rule": "This run used the update rule '{optimizer}'. The step worked out below is the plain "
                       "gradient-descent step θ₁ = θ₀ − λ·∇Loss(θ₀) from the same start, which that rule "
                       "builds on; the table that follows shows the run itself.",
    "step.standardized": "This run descended on standardized features, z = (x − mean) / standard deviation, and "
                         "reports its parameters on the original scale. On that scale a step is not θ₀ − λ·∇Loss(θ₀), "
                         "so the first step is not written out by hand here; fit without standardization to see it.",
    "step.terms": "{n} terms",
    "step.rows": "{n} rows",
    "step.vector_start": "With several features the same computation is written with vectors. The "
                         "starting parameters:",
    "step.vector_loss": "The residuals rᵢ = f(xᵢ) − yᵢ give the loss and the gradient:",
    "table.title": "3. The iterations",
    "table.intro": "The same step, repeated {n} times. A few iterations chosen on a log scale "
                   "(k = 0 is the start):",
    "result.title": "4. The result",
    "result.stop_tol": "Stopped after {n} iterations: the loss almost stopped decreasing (its relative "
                       "change fell to the tolerance).",
    "result.stop_max_iter": "Stopped after {n} iterations, the limit that was set.",
    "result.stop_exact": "No iterations: this is the exact least-squares solution (solver='exact').",
    "result.stop_diverged": "Stopped after {n} iterations: the run diverged (the loss grew instead of "
                            "shrinking).",
    "result.test": "Prediction for the held-out test row:",
    "result.optimum": "The exact least-squares optimum θ* (solving the normal equations AᵀA·θ = Aᵀy) and "
                      "how far gradient descent still is from it:",
    "lr.title": "5. The learning rate",
    "lr.bound": "The loss is a quadratic bowl; its Hessian (matrix of second derivatives) is constant. "
                "Gradient descent converges only when the learning rate is below 2/h_max, where h_max "
                "is the Hessian's largest eigenvalue:",
    "lr.flat": "The loss has no curvature here (every feature is zero), so no learning rate is too large.",
    "lr.this_run": "This run used λ = {lr}, above the bound: that is why it diverged. Choose a learning "
                   "rate below 2/h_max, or lr='auto'.",
    "lr.above": "What happens just above the bound? The same run with λ = {lr}:",
    "lr.diverged": "It diverges: every step overshoots the bottom of the bowl by more than the last, and "
                   "the loss grows from {loss0} to {loss} in {n} iterations. gradfit stops such a run "
                   "and says so.",
    "lr.not_diverged": "Within {n} iterations the loss went from {loss0} to {loss}.",
    "autograd.title": "6. Checked by PyTorch's autograd",
    "autograd.missing": "PyTorch is not installed, so this check is skipped. Install it with: "
                        "pip install 'gradfit[torch]'",
    "autograd.intro": "PyTorch's autograd differentiates the loss mechanically (backward()). Its gradient "
                      "at the start, next to the one derived by hand above:",
    "autograd.parameter": "partial derivative",
    "autograd.hand": "by hand",
    "autograd.torch": "autograd",
    "autograd.difference": "difference",
    "autograd.agree": "They agree: the chain rule by hand and autograd compute the same gradient.",
    "autograd.disagree": "They differ by more than rounding; please report this as a gradfit bug.",
    # gradfit descend
    "descend.steps": "Gradient descent, step by step",
    "descend.function": "Function   f({vars}) = {expr}",
    "descend.gradient": "Gradient   {formulas}",
    "descend.update": "Update     {vars} ← {vars} − λ·∇f   with λ = {lr}, starting at {start}",
    "descend.stop_steps": "After {n} steps: f = {value}",
    "descend.stop_diverged": "Stopped after {n} steps: f or its gradient is no longer a finite number "
                             "(the learning rate is too large, or the function has no minimum).",
    "descend.stop_undefined": "Stopped after {n} steps: the function is not defined there.",
    "descend.no_plot": "Plots are drawn for functions of one or two variables; this one has {n}.",
    # the HTML report
    "report.title": "gradfit report: {source}",
    "report.fit": "The fit, iteration by iteration",
    "report.slider": "Iteration",
    "report.play": "Play",
    "report.data": "data",
    "report.test": "test row",
    "report.line": "f(x) at this iteration",
    "report.predicted": "predicted",
    "report.actual": "target",
    "report.path": "descent path",
    "report.current": "this iteration",
    "report.optimum": "exact optimum",
    "report.loss_curve": "Loss per iteration (log scale)",
    "report.rates": "Learning rates compared",
    "report.rates_note": "The same run with a few learning rates; the last one is just above 2/h_max and "
                         "diverges.",
    "report.diverged": "diverged",
    "report.explanation": "The explanation",
}

ZH: dict[str, str] = {
    "demo.title": "gradfit 演示：重现教程（数据集：{name}）",
    "demo.data": "数据       训练 x = {x_train}, y = {y_train}；  测试 x = {x_test}, y = {y_test}",
    "demo.model": "模型       f(x) = w·x + b",
    "demo.loss": "损失函数   Loss(w, b) = Σᵢ (w·xᵢ + b − yᵢ)²   （对 {n} 个训练样本求和）",
    "demo.gradient": "梯度       ∂Loss/∂w = Σᵢ 2(w·xᵢ + b − yᵢ)·xᵢ     ∂Loss/∂b = Σᵢ 2(w·xᵢ + b − yᵢ)",
    "demo.update": "更新规则   w ← w − λ·∂Loss/∂w,  b ← b − λ·∂Loss/∂b     学习率 λ = {lr}，初始 w₀ = {w0}, b₀ = {b0}",
    "demo.first_step": "第一步",
    "demo.loss0": "  Loss({w0}, {b0}) = {loss0}",
    "demo.grad0": "  ∂Loss/∂w = {gw},  ∂Loss/∂b = {gb}",
    "demo.w1": "  w₁ = w₀ − λ·∂Loss/∂w = {w0} − {lr} × ({gw}) = {w1}",
    "demo.b1": "  b₁ = b₀ − λ·∂Loss/∂b = {b0} − {lr} × ({gb}) = {b1}",
    "demo.loss1": "  Loss(w₁, b₁) = Loss({w1}, {b1}) = {loss1}",
    "demo.after": "迭代 {iters} 次之后",
    "demo.final_w": "  w = {w}",
    "demo.final_b": "  b = {b}",
    "demo.final_loss": "  Loss(w, b) = {loss}",
    "demo.test": "测试样本",
    "demo.prediction": "  f({x}) = {prediction}   （真实值 {y}；损失 (f({x}) − {y})² = {loss}）",
    "demo.figure": "图像已保存到 {path}",
    "plots.written": "已保存的图像：{paths}",
    "explain.title_one": "梯度下降是如何拟合这条直线的（{rows} 个样本，1 个特征）",
    "explain.title_many": "梯度下降是如何拟合这个模型的（{rows} 个样本，{features} 个特征）",
    "derive.title": "一、推导",
    "derive.model1": "模型是一条直线：输入 x，由权重 w（斜率）和偏置 b（直线在 x = 0 处的高度）给出预测值 f(x)：",
    "derive.model_vec": "模型给每个特征 xⱼ 乘上各自的权重 wⱼ，再加上偏置 b：",
    "derive.sample_loss": "在一个样本上错了多少？单个样本的损失是预测值与真实值之差的平方：",
    "derive.total_sum": "损失函数把全部 {n} 个训练样本的损失加起来。数据是固定的数，损失只随参数变化：",
    "derive.total_mean": "损失函数取全部 {n} 个训练样本损失的平均值（均方误差）。数据是固定的数，损失只随参数变化：",
    "derive.chain": "要往“山下”走，需要知道梯度，也就是损失函数对每个参数的偏导数。每一项都是某个式子的平方，"
                    "按链式法则求导：外层的导数（2 × 括号里的式子）乘以内层对该参数的导数。",
    "derive.gradient": "和的导数等于导数的和，于是整个损失函数的梯度为：",
    "derive.update": "梯度下降沿着梯度的反方向一小步一小步地走。学习率（步长）λ = {lr} 决定每步走多远；"
                     "起点为 {start}：",
    "step.title": "二、第一步：代入本次运行的数字",
    "step.loss": "把初始参数代入损失函数，逐个样本计算：",
    "step.gradient": "起点处的梯度，逐项计算（偏导数为负，说明应当增大这个参数）：",
    "step.update": "以 λ = {lr} 沿梯度反方向更新：",
    "step.new_loss": "损失从 {before} 降到了 {after}：这一步确实是在下山。",
    "step.new_loss_up": "损失从 {before} 变成了 {after}：这一步越过了谷底，学习率太大了。",
    "step.other_rule": "本次运行使用的更新规则是“{optimizer}”。下面手算的是从同一起点出发的普通梯度下降一步 "
                       "θ₁ = θ₀ − λ·∇Loss(θ₀)，该规则正是在此基础上改进的；后面的表格给出的是本次运行本身的数字。",
    "step.standardized": "本次运行是在标准化后的特征 z = (x − 均值) / 标准差 上做梯度下降的，参数再换算回原始尺度报告。"
                         "在原始尺度上，一步更新并不是 θ₀ − λ·∇Loss(θ₀)，所以这里不逐项手算第一步；"
                         "不做标准化再拟合一次，就能看到手算过程。",
    "step.terms": "共 {n} 项",
    "step.rows": "共 {n} 行",
    "step.vector_start": "有多个特征时，同样的计算用向量来写。初始参数：",
    "step.vector_loss": "由残差 rᵢ = f(xᵢ) − yᵢ 算出损失和梯度：",
    "table.title": "三、迭代过程",
    "table.intro": "同样的一步重复 {n} 次。下面按对数间隔选出若干次迭代（k = 0 为起点）：",
    "result.title": "四、结果",
    "result.stop_tol": "迭代 {n} 次后停止：损失几乎不再下降（相对变化已小于容差）。",
    "result.stop_max_iter": "迭代 {n} 次后停止，达到了设定的迭代次数上限。",
    "result.stop_exact": "没有迭代：这是精确的最小二乘解（solver='exact'）。",
    "result.stop_diverged": "迭代 {n} 次后停止：训练发散了（损失不降反升）。",
    "result.test": "对留出的测试样本的预测：",
    "result.optimum": "最小二乘法的精确最优解 θ*（解正规方程 AᵀA·θ = Aᵀy），以及梯度下降的结果离它还有多远：",
    "lr.title": "五、学习率",
    "lr.bound": "损失函数是一个二次的“碗”，它的黑塞矩阵（二阶导数矩阵）是常数。只有当学习率小于 2/h_max 时"
                "梯度下降才会收敛，其中 h_max 是黑塞矩阵的最大特征值：",
    "lr.flat": "这里的损失函数没有曲率（所有特征都为零），任何学习率都不会太大。",
    "lr.this_run": "本次训练使用的学习率 λ = {lr} 超过了这个界限，所以发散了。请选择小于 2/h_max 的学习率，或者使用 lr='auto'。",
    "lr.above": "学习率刚好超过这个界限会怎样？用 λ = {lr} 把同样的训练再跑一遍：",
    "lr.diverged": "训练发散了：每一步都越过碗底，而且越过得一次比一次多，{n} 次迭代内损失从 {loss0} "
                   "涨到了 {loss}。gradfit 会及时停下这样的训练并给出说明。",
    "lr.not_diverged": "{n} 次迭代内损失从 {loss0} 变为 {loss}。",
    "autograd.title": "六、用 PyTorch 自动求导来验证",
    "autograd.missing": "没有安装 PyTorch，跳过这项验证。安装方法：pip install 'gradfit[torch]'",
    "autograd.intro": "PyTorch 的自动求导（backward()）机械地对损失函数求导。它在起点处算出的梯度与上面手工推导的梯度对照如下：",
    "autograd.parameter": "偏导数",
    "autograd.hand": "手工推导",
    "autograd.torch": "自动求导",
    "autograd.difference": "差值",
    "autograd.agree": "两者一致：手工用链式法则求出的梯度与自动求导的结果相同。",
    "autograd.disagree": "两者之差超出了舍入误差，请把这个问题报告给 gradfit。",
    "descend.steps": "梯度下降，一步一步",
    "descend.function": "函数       f({vars}) = {expr}",
    "descend.gradient": "梯度       {formulas}",
    "descend.update": "更新规则   {vars} ← {vars} − λ·∇f   学习率（步长）λ = {lr}，起点 {start}",
    "descend.stop_steps": "走了 {n} 步之后：f = {value}",
    "descend.stop_diverged": "走了 {n} 步后停止：f 或它的梯度已不是有限的数（学习率过大，或者函数没有最小值）。",
    "descend.stop_undefined": "走了 {n} 步后停止：函数在该点没有定义。",
    "descend.no_plot": "只为一元或二元函数作图；这个函数有 {n} 个变量。",
    "report.title": "gradfit 报告：{source}",
    "report.fit": "逐次迭代的拟合过程",
    "report.slider": "迭代次数",
    "report.play": "播放",
    "report.data": "数据",
    "report.test": "测试样本",
    "report.line": "本次迭代的 f(x)",
    "report.predicted": "预测值",
    "report.actual": "真实值",
    "report.path": "下降路径",
    "report.current": "本次迭代",
    "report.optimum": "精确最优解",
    "report.loss_curve": "每次迭代的损失（对数坐标）",
    "report.rates": "不同学习率的比较",
    "report.rates_note": "用几个不同的学习率把同样的训练各跑一遍；最后一个刚好超过 2/h_max，会发散。",
    "report.diverged": "发散",
    "report.explanation": "讲解",
}

EN |= {
    "verdict.exact": "Exact least-squares solution (solver {o[solver=exact]}): no iterations, no optimality gap.",
    "verdict.diverged": "Diverged after {k}: the learning rate {lr} is too large (gradient descent is stable below "
                        "{stable}). Use {o[lr=auto]} or a smaller {o[lr]}.",
    "verdict.certified": "Converged after {k}: the parameters are certified within {gap} of the exact optimum "
                         "(relative; ‖θ − θ*‖ ≤ ‖∇Loss‖/h_min).",
    "verdict.certified_set": "Converged after {k}: the parameters are certified within {gap} of a least-squares "
                             "solution (relative; ‖θ − θ*‖ ≤ ‖∇Loss‖/h_min). It is not the only one: the Hessian has "
                             "rank {rank} of {p}, so the data determine the predictions but not every coefficient "
                             "(a constant or collinear column, or more features than rows).",
    "verdict.loss_stopped": "Converged after {k}: the loss stopped changing{where}.",
    "verdict.loss_stopped_far": "Stopped after {k}: the loss stopped changing, but the parameters are still {gap} "
                                "(relative) from the exact optimum — the descent is slow along some direction. Use "
                                "{o[stop=gap]}, or {speedups}.",
    "verdict.at_optimum": "Stopped at the {unit} limit ({k}), already at the optimum{where}.",
    "verdict.short": "Did not converge: stopped at the {unit} limit ({k}){where}. Raise {limit}, or {speedups}; "
                     "{o[solver=exact]} gives the least-squares answer directly.",
    "verdict.where": " (parameters within {gap} of the exact optimum, relative)",
    "verdict.speed_sgd": "let SGD settle with {o[learning_rate=invscaling]} or a larger {o[batch_size]}",
    "verdict.speed": "speed it up with {tips}",
    "verdict.or": " or ",
    "warn.not_converged": "The fit did not converge: it stopped at the {unit} limit ({n}){bound}, short of "
                          "the tolerance {tol} ({o[tol]}). Raise {limit}, or use {o[solver=exact]} for the "
                          "least-squares answer.",
    "warn.bound": " with the parameters certified within {gap} of the optimum (relative)",
    "warn.no_certificate": "The fit cannot be certified: the loss stopped changing after {n} iterations, but the "
                           "Hessian is singular to working precision (collinear features), so no bound on the "
                           "distance to the optimum exists and the coefficients along that direction are not "
                           "resolved by descent. Use {o[solver=exact]} for the least-squares answer, or drop one of "
                           "the collinear features.",
    "verdict.no_certificate": "Not certified: the loss stopped changing after {k}, but the Hessian is singular to "
                              "working precision (collinear features), so the coefficients along that direction are "
                              "not resolved{where}. Use {o[solver=exact]}, or drop one of the collinear features.",
    "verdict.short_plain": "Did not converge: stopped at the {unit} limit ({k}){where}. Raise {limit}; "
                           "{o[solver=exact]} gives the least-squares answer directly.",
    "summary.not_converged": "No inference table: the fit did not converge, so standard errors and p-values at these "
                             "coefficients would not be those of the least-squares fit. Use {o[solver=exact]} (or "
                             "raise {o[iters]}) for the table.",
}
ZH |= {
    "verdict.exact": "精确的最小二乘解（solver {o[solver=exact]}）：没有迭代，也没有最优性差距。",
    "verdict.diverged": "{k}后发散：学习率 {lr} 太大（梯度下降只在学习率小于 {stable} 时稳定）。请用 {o[lr=auto]} 或更小的 {o[lr]}。",
    "verdict.certified": "{k}后收敛：参数已被证明与精确最优解的相对距离在 {gap} 以内（‖θ − θ*‖ ≤ ‖∇Loss‖/h_min）。",
    "verdict.certified_set": "{k}后收敛：参数已被证明与一个最小二乘解的相对距离在 {gap} 以内（‖θ − θ*‖ ≤ ‖∇Loss‖/h_min）。"
                             "但最小二乘解不唯一：Hessian 的秩是 {rank}（共 {p} 个参数），数据确定了预测值，"
                             "却不能确定每个系数（有常数列或共线的列，或特征比行还多）。",
    "verdict.loss_stopped": "{k}后收敛：损失不再变化{where}。",
    "verdict.loss_stopped_far": "{k}后停止：损失不再变化，但参数与精确最优解仍相差 {gap}（相对）——某个方向上下降很慢。"
                                "请用 {o[stop=gap]}，或{speedups}。",
    "verdict.at_optimum": "达到{unit}上限（{k}）时停止，已经在最优解处{where}。",
    "verdict.short": "没有收敛：达到{unit}上限（{k}）时停止{where}。请增大 {limit}，或{speedups}；"
                     "{o[solver=exact]} 直接给出最小二乘解。",
    "verdict.where": "（参数与精确最优解的相对距离在 {gap} 以内）",
    "verdict.speed_sgd": "用 {o[learning_rate=invscaling]} 或更大的 {o[batch_size]} 让 SGD 稳定下来",
    "verdict.speed": "用 {tips} 加快",
    "verdict.or": " 或 ",
    "warn.not_converged": "拟合没有收敛：在{unit}上限（{n}）处停止{bound}，未达到容差 {tol}（{o[tol]}）。请增大 {limit}，"
                          "或用 {o[solver=exact]} 直接得到最小二乘解。",
    "warn.bound": "，参数与最优解的相对距离被证明在 {gap} 以内",
    "warn.no_certificate": "无法证明拟合已收敛：损失在 {n} 次迭代后不再变化，但 Hessian 在工作精度下是奇异的（特征共线），"
                           "到最优解的距离没有上界，梯度下降也分辨不出该方向上的系数。请用 {o[solver=exact]} "
                           "得到最小二乘解，或去掉一个共线的特征。",
    "verdict.no_certificate": "未能证明收敛：{k}后损失不再变化，但 Hessian 在工作精度下是奇异的（特征共线），"
                              "该方向上的系数没有被确定{where}。请用 {o[solver=exact]}，或去掉一个共线的特征。",
    "verdict.short_plain": "没有收敛：达到{unit}上限（{k}）时停止{where}。请增大 {limit}；"
                           "{o[solver=exact]} 直接给出最小二乘解。",
    "summary.not_converged": "不输出推断表：拟合没有收敛，这些系数处的标准误和 p 值不是最小二乘拟合的。"
                             "请用 {o[solver=exact]}（或增大 {o[iters]}）得到推断表。",
}

# The learner's "why": the bound derived, conditioning, momentum, check yourself, the code, the warm-up's
# divergence, figures and the report's playground. The Hessian's eigenvalues are h (λ is the learning rate).
EN |= {
    "lr.derive": "Why 2/h_max? Write the error as e = θ − θ*. The gradient of a quadratic is ∇Loss(θ) = H·(θ − θ*), "
                 "so one step turns e into (I − λH)·e. In the eigenbasis of the Hessian H (eigenvalues hᵢ) the "
                 "directions do not mix: each is multiplied by (1 − λ·hᵢ) per step, and after k steps by "
                 "(1 − λ·hᵢ)^k. A direction shrinks only if |1 − λ·hᵢ| < 1, that is 0 < λ < 2/hᵢ; all of them "
                 "shrink when λ < 2/h_max.",
    "lr.eigen": "This run's Hessian, its eigenvalues (numpy.linalg.eigvalsh) and what a step of λ = {lr} does "
                "along each eigenvector:",
    "lr.direction": "direction",
    "lr.shrinks": "shrinks",
    "lr.flips": "shrinks, changing sign",
    "lr.grows": "grows",
    "cond.title": "7. Why it takes this many iterations: the condition number",
    "cond.intro": "The slowest direction sets the pace. The error shrinks by at least ρ = max|1 − λ·hᵢ| per step, so "
                  "dividing it by 1/ε takes about ln(1/ε)/ln(1/ρ) iterations. Even the best plain step, "
                  "λ = 1/h_max, has ρ = 1 − 1/κ along the flattest direction: about κ·ln(1/ε) iterations, "
                  "where κ = h_max/h_min is the condition number.",
    "cond.table_intro": "Predicted for this run (λ = {lr}) and measured (the first iteration k with "
                        "‖θ_k − θ*‖ ≤ ε·‖θ₀ − θ*‖). The prediction is an upper bound: the error along the faster "
                        "directions dies out sooner.",
    "cond.error": "error reduction ε",
    "cond.predicted": "predicted iterations",
    "cond.measured": "measured",
    "cond.not_reached": "not within {n}",
    "cond.never": "never",
    "cond.singular": "The Hessian is singular (h_min = 0): some combination of the features is constant or "
                     "collinear, so the optimum is not unique and κ is infinite. Drop a redundant column.",
    "cond.standardize": "Standardizing the features, z = (x − mean)/standard deviation, changes the Hessian. "
                        "Before and after, each at its best plain step λ = 1/h_max, for ε = 1e-8:",
    "cond.scale": "features",
    "cond.raw": "as given",
    "cond.standardized": "standardized",
    "cond.advice": "Advice: standardize (gradfit explain --standardize, standardize=True in Python): κ falls from "
                   "{before} to {after}, and plain gradient descent needs about {iters_after} iterations instead of "
                   "{iters_before}. gradfit reports the coefficients on the original scale either way; lr='auto' "
                   "(the practitioner's default) standardizes and accelerates by itself.",
    "cond.fine": "The features are already well scaled: standardizing would change κ from {before} to {after}.",
    "cond.rerun": "Measured with standardized features at λ = 1/h_max = {lr}: ε = 1e-8 reached at iteration {k}.",
    "cond.rerun_raw": "Measured on the data as given at λ = 1/h_max = {lr}: ε = 1e-8 reached at iteration {k}.",
    "result.not_converged": "This run did not converge: the parameters are still {gap} (relative) from the exact "
                            "optimum θ*. Why: the condition number κ = {kappa} makes the flattest direction shrink "
                            "by only {rate} per step, so about {needed} iterations would be needed (section 7).",
    "result.not_converged_diverging": "This run did not converge: with λ = {lr} some direction grows "
                                      "(|1 − λ·h_max| = {rate} ≥ 1, section 5).",
    "mom.title": "8. Momentum: why √κ instead of κ",
    "mom.intro": "Momentum lets past steps carry on. Heavy ball (Polyak) and Nesterov, in PyTorch's convention "
                 "(v₀ = 0, momentum μ):",
    "mom.why": "Along each eigenvector the pair (error, velocity) is multiplied by a 2×2 matrix per step. With "
               "λ = 4/(√h_max + √h_min)² and μ = ((√κ − 1)/(√κ + 1))² both of its eigenvalues have the size "
               "(√κ − 1)/(√κ + 1) ≈ 1 − 2/√κ in every direction: about (√κ/2)·ln(1/ε) iterations, where the best "
               "plain step (λ = 2/(h_max + h_min), factor (κ − 1)/(κ + 1)) needs about (κ/2)·ln(1/ε). With this "
               "run's Hessian, for ε = 1e-8:",
    "mom.plain": "plain gradient descent",
    "mom.heavy": "heavy ball",
    "mom.factor": "factor per step",
    "mom.restart": "The restart. The best μ needs h_min, which is rarely known, and too much momentum overshoots and "
                   "circles around the optimum. gradfit's default (optimizer='accelerated') lets the momentum grow "
                   "step by step, β_k = (t_k − 1)/t_{{k+1}} with t_{{k+1}} = (1 + √(1 + 4t_k²))/2, and sets it back "
                   "to zero whenever the gradient points against the last move (∇Loss·v < 0: the loss would go up "
                   "along it). This adaptive restart (O'Donoghue and Candès, 2015) keeps the √κ pace without knowing "
                   "h_min.",
    "mom.this_run": "This run used {rule} with μ = {mu} and λ = {lr}: its factor per step is {rate} (plain gradient "
                    "descent at the same λ: {plain}), predicting about {predicted} iterations for ε = 1e-8; "
                    "measured: {measured}.",
    "mom.this_accelerated": "This run used Nesterov's method with adaptive restart at λ = {lr}: ε = 1e-8 measured "
                            "at {measured}; plain gradient descent at the same λ would need about {plain} "
                            "iterations.",
    "lr.preconditioned": "This run stepped in the metric of the Hessian (θ ← θ − H⁻¹·∇Loss(θ), λ = 1: there every "
                         "curvature is 1 and the bound is 2, so its step is safe). What follows is the plain step on "
                         "the same Hessian, at its usual λ = 1/h_max = {lr}: what preconditioning saves.",
    "mom.this_preconditioned": "This run descended in the metric of the Hessian: θ ← θ − H⁻¹·∇Loss(θ), the same "
                               "gradient step with every direction rescaled to curvature 1, so κ becomes 1 and one "
                               "step of λ = 1 lands on the optimum of a quadratic (the next steps only correct "
                               "rounding). ε = 1e-8 measured at {measured}; plain gradient descent at λ = 1/h_max "
                               "would need about {plain} iterations here (κ = {kappa}).",
    "mom.restarts": "Replayed on this run's quadratic, the momentum restarted {n} times, at iterations {at}.",
    "mom.compare": "This run used plain gradient descent. The same data with heavy-ball momentum at the settings "
                   "above (λ = {lr}, μ = {mu}): ε = 1e-8 measured at {measured} (predicted about {predicted}).",
    "check.title": "9. Check yourself",
    "check.intro": "Questions computed from this run's numbers; the answers are at the end.",
    "check.answers": "Answers",
    "check.w1": "With λ = {lr} and ∂Loss/∂{p} = {g} at the start {p}₀ = {p0}, what is {p}₁ after the first step?",
    "check.w1_answer": "{p}₁ = {p0} − {lr} × ({g}) = {p1}.",
    "check.rates": "Which of these learning rates make plain gradient descent converge on these data: {rates}?",
    "check.rates_answer": "Those below 2/h_max = {bound}: {good}. The others ({bad}) diverge.",
    "check.rates_none": "none",
    "check.factor": "At λ = {lr}, by what factor does the error along the flattest direction (h_min = {hmin}) shrink "
                    "per step?",
    "check.factor_answer": "1 − λ·h_min = 1 − {lr} × {hmin} = {factor}.",
    "check.slowest": "Which parameter does gradient descent find slowest on these data?",
    "check.slowest_answer": "{p}: it weighs most in the eigenvector of h_min = {hmin}, the flattest direction.",
    "check.kappa": "About how many iterations does plain gradient descent at λ = 1/h_max need to divide the error "
                   "by 10^8?",
    "check.kappa_answer": "About κ·ln(10^8) = {kappa} × {log} ≈ {iters}.",
    "code.title": "10. The code of this run",
    "code.python": "The tutorial's program in plain Python, with this run's data and settings (it prints the same "
                   "parameters as gradfit):",
    "code.torch": "The same run in PyTorch: autograd computes the gradient, torch.optim.SGD takes the step:",
    "code.not_plain": "This run used {what}; the programs below run the plain gradient-descent step of the tutorial "
                      "on the data as given, so their numbers are those of gradfit's run with optimizer 'gd' and "
                      "without standardization.",
    "code.standardized": "standardized features",
    "dataset.tutorial": "tutorial",
    "dataset.noisy": "noisy",
    "code.comment_python": "This run in plain Python: the tutorial's gradient descent, step by step.",
    "code.comment_torch": "This run in PyTorch: autograd computes the gradient, torch.optim.SGD takes the step.",
    "code.comment_weights": "sample weights",
    "code.comment_no_b": "no intercept",
    "code.comment_momentum": "momentum, PyTorch's convention: v = mu*v + g",
    "code.comment_chain": "chain rule: d(f - y)^2 = 2(f - y) * d(f - y)",
    "descend.diverges": "Why it diverges: near a point x the step multiplies the distance to the minimum by "
                        "1 − λ·f''(x). Here f''({at}) = {curv}, so 1 − λ·f'' = 1 − {lr} × {curv} = {factor}: "
                        "|{factor}| > 1, every step overshoots further than the last. The warm-up converges only "
                        "for λ < 2/f'' = {bound}.",
    "descend.diverges_many": "Why it diverges: near a point the step multiplies the distance to the minimum along "
                             "each eigenvector of the Hessian of f by 1 − λ·hᵢ. Here the largest eigenvalue at the "
                             "start is h_max = {curv}, so 1 − λ·h_max = {factor}: |{factor}| > 1. Descent converges "
                             "only for λ < 2/h_max = {bound}.",
    "descend.no_minimum": "Why it diverges: f''({at}) = {curv} ≤ 0, the function curves downward there; gradient "
                          "descent runs away from such a point whatever the learning rate (the function may have "
                          "no minimum).",
    "plot.training": "training data",
    "plot.test": "test data",
    "plot.iteration": "iteration k",
    "plot.loss_log": "Loss (log scale)",
    "plot.loss": "Loss",
    "plot.loss_title": "Loss per iteration",
    "plot.path": "descent path",
    "plot.start": "start",
    "plot.optimum": "exact optimum",
    "plot.target": "target {name}",
    "plot.predicted": "predicted",
    "plot.steps": "steps",
    "report.written": "Report written to {path}",
    "report.preset_tutorial": "the tutorial's data set",
    "report.preset_noisy": "the tutorial's second data set",
    "report.play_title": "Play with the learning rate and the momentum",
    "report.play_note": "The sliders re-run descent in your browser on this run's own quadratic loss (its Hessian "
                        "and its gradient at zero determine every iterate), from the run's start. Cross "
                        "λ = 2(1 + μ)/h_max and it diverges.",
    "report.lr": "learning rate λ",
    "report.momentum": "momentum μ",
    "report.steps": "steps",
    "report.play_path": "path",
    "report.converges": "converges",
    "report.diverges": "diverges",
    "console.no_cjk": "note: this console's encoding ({encoding}) cannot show Chinese; writing English instead. Set "
                      "PYTHONIOENCODING=utf-8 (or use a UTF-8 terminal) for --lang zh.",
}
ZH |= {
    "lr.derive": "为什么是 2/h_max？把误差记作 e = θ − θ*。二次函数的梯度是 ∇Loss(θ) = H·(θ − θ*)，所以每走一步，e 就变成 "
                 "(I − λH)·e。在黑塞矩阵 H 的特征向量基下（特征值为 hᵢ），各个方向互不干扰：每一步把第 i 个方向乘以 "
                 "(1 − λ·hᵢ)，k 步之后乘以 (1 − λ·hᵢ)^k。只有当 |1 − λ·hᵢ| < 1，即 0 < λ < 2/hᵢ 时，这个方向才会缩小；"
                 "λ < 2/h_max 时所有方向都缩小。",
    "lr.eigen": "本次运行的黑塞矩阵、它的特征值（numpy.linalg.eigvalsh），以及学习率 λ = {lr} 的一步在每个特征向量方向上的效果：",
    "lr.direction": "方向",
    "lr.shrinks": "缩小",
    "lr.flips": "缩小并改变符号",
    "lr.grows": "增大",
    "cond.title": "七、为什么需要这么多次迭代：条件数",
    "cond.intro": "最慢的方向决定了速度。每一步误差至少缩小为原来的 ρ = max|1 − λ·hᵢ| 倍，所以把误差缩小到 ε 倍大约需要 "
                  "ln(1/ε)/ln(1/ρ) 次迭代。即使用最好的普通步长 λ = 1/h_max，在最平坦的方向上也只有 ρ = 1 − 1/κ："
                  "大约需要 κ·ln(1/ε) 次迭代，其中 κ = h_max/h_min 称为条件数。",
    "cond.table_intro": "本次运行（λ = {lr}）的预测值与实测值（实测值是第一个满足 ‖θ_k − θ*‖ ≤ ε·‖θ₀ − θ*‖ 的迭代次数 k）。"
                        "预测值是一个上界：较快方向上的误差消失得更早。",
    "cond.error": "误差缩小倍数 ε",
    "cond.predicted": "预测迭代次数",
    "cond.measured": "实测",
    "cond.not_reached": "{n} 次内未达到",
    "cond.never": "永远达不到",
    "cond.singular": "黑塞矩阵是奇异的（h_min = 0）：某些特征的组合是常数或共线，最优解不唯一，κ 为无穷大。请删去多余的列。",
    "cond.standardize": "把特征标准化，z = (x − 均值)/标准差，会改变黑塞矩阵。标准化前后各取最好的普通步长 λ = 1/h_max，"
                        "对 ε = 1e-8：",
    "cond.scale": "特征",
    "cond.raw": "原始数据",
    "cond.standardized": "标准化后",
    "cond.advice": "建议：先标准化（gradfit explain --standardize，在 Python 中用 standardize=True）：κ 从 {before} "
                   "降到 {after}，普通梯度下降大约只需 {iters_after} 次迭代，而不是 {iters_before} 次。两种情况下 gradfit "
                   "都按原始尺度报告系数；lr='auto'（实践中的默认设置）会自动标准化并加速。",
    "cond.fine": "这些特征的尺度已经合适：标准化只会把 κ 从 {before} 变为 {after}。",
    "cond.rerun": "标准化后以 λ = 1/h_max = {lr} 实测：第 {k} 次迭代达到 ε = 1e-8。",
    "cond.rerun_raw": "在原始数据上以 λ = 1/h_max = {lr} 实测：第 {k} 次迭代达到 ε = 1e-8。",
    "result.not_converged": "本次运行没有收敛：参数与精确最优解 θ* 的相对距离仍有 {gap}。原因：条件数 κ = {kappa} "
                            "使最平坦的方向每步只缩小为 {rate} 倍，大约需要 {needed} 次迭代（见第七节）。",
    "result.not_converged_diverging": "本次运行没有收敛：学习率 λ = {lr} 使某个方向不断增大（|1 − λ·h_max| = {rate} ≥ 1，见第五节）。",
    "mom.title": "八、动量：为什么是 √κ 而不是 κ",
    "mom.intro": "动量让之前的步子继续发挥作用。重球法（Polyak）和 Nesterov 方法，采用 PyTorch 的写法（v₀ = 0，动量系数 μ）：",
    "mom.why": "在每个特征向量方向上，（误差，速度）这一对数每步乘以一个 2×2 矩阵。取 λ = 4/(√h_max + √h_min)²、"
               "μ = ((√κ − 1)/(√κ + 1))² 时，它的两个特征值在每个方向上的大小都是 (√κ − 1)/(√κ + 1) ≈ 1 − 2/√κ："
               "大约需要 (√κ/2)·ln(1/ε) 次迭代；而最好的普通步长（λ = 2/(h_max + h_min)，每步因子 (κ − 1)/(κ + 1)）"
               "大约需要 (κ/2)·ln(1/ε) 次。用本次运行的黑塞矩阵，对 ε = 1e-8：",
    "mom.plain": "普通梯度下降",
    "mom.heavy": "重球法",
    "mom.factor": "每步因子",
    "mom.restart": "重启。最好的 μ 需要知道 h_min，而它很少事先知道；动量太大又会冲过头，绕着最优解打转。gradfit 的默认方法"
                   "（optimizer='accelerated'）让动量逐步增大，β_k = (t_k − 1)/t_{{k+1}}，t_{{k+1}} = (1 + √(1 + 4t_k²))/2，"
                   "并且一旦梯度与上一步的方向相反（∇Loss·v < 0：沿着它损失会上升），就把动量清零。这种自适应重启"
                   "（O'Donoghue 与 Candès，2015）不需要知道 h_min 也能保持 √κ 的速度。",
    "mom.this_run": "本次运行使用 {rule}，μ = {mu}，λ = {lr}：每步因子为 {rate}（同样 λ 下的普通梯度下降：{plain}），"
                    "预测对 ε = 1e-8 大约需要 {predicted} 次迭代；实测：{measured}。",
    "mom.this_accelerated": "本次运行使用带自适应重启的 Nesterov 方法，λ = {lr}：实测在 {measured} 达到 ε = 1e-8；"
                            "同样 λ 下的普通梯度下降大约需要 {plain} 次迭代。",
    "lr.preconditioned": "本次运行在 Hessian 的度量下迈步（θ ← θ − H⁻¹·∇Loss(θ)，λ = 1：在那里每个方向的曲率都是 1，"
                         "上界是 2，所以这一步是安全的）。下面讲的是同一个 Hessian 上的普通步长，取通常的 λ = 1/h_max = {lr}："
                         "也就是预条件省下的部分。",
    "mom.this_preconditioned": "本次运行在 Hessian 的度量下下降：θ ← θ − H⁻¹·∇Loss(θ)，即同样的梯度步，但每个方向的曲率"
                               "都被缩放为 1，于是 κ 变为 1，对二次函数取 λ = 1 一步即落在最优点（之后的步只修正舍入误差）。"
                               "实测在 {measured} 达到 ε = 1e-8；在这里普通梯度下降取 λ = 1/h_max 大约需要 {plain} 次迭代"
                               "（κ = {kappa}）。",
    "mom.restarts": "在本次运行的二次函数上重放：动量共重启了 {n} 次，分别在第 {at} 次迭代。",
    "mom.compare": "本次运行使用的是普通梯度下降。在同样的数据上用上面的重球法设置（λ = {lr}，μ = {mu}）：实测在 {measured} "
                   "达到 ε = 1e-8（预测大约 {predicted}）。",
    "check.title": "九、自测题",
    "check.intro": "下面的题目由本次运行的数字算出；答案在最后。",
    "check.answers": "答案",
    "check.w1": "学习率 λ = {lr}，在起点 {p}₀ = {p0} 处 ∂Loss/∂{p} = {g}，第一步之后 {p}₁ 是多少？",
    "check.w1_answer": "{p}₁ = {p0} − {lr} × ({g}) = {p1}。",
    "check.rates": "下面哪些学习率能让普通梯度下降在这些数据上收敛：{rates}？",
    "check.rates_answer": "小于 2/h_max = {bound} 的那些：{good}。其余的（{bad}）会发散。",
    "check.rates_none": "没有",
    "check.factor": "学习率 λ = {lr} 时，最平坦方向（h_min = {hmin}）上的误差每步缩小为原来的几倍？",
    "check.factor_answer": "1 − λ·h_min = 1 − {lr} × {hmin} = {factor}。",
    "check.slowest": "在这些数据上，梯度下降找得最慢的是哪个参数？",
    "check.slowest_answer": "{p}：它在 h_min = {hmin} 的特征向量（最平坦的方向）中占的分量最大。",
    "check.kappa": "用 λ = 1/h_max 的普通梯度下降，大约需要多少次迭代才能把误差缩小到 10^8 分之一？",
    "check.kappa_answer": "大约 κ·ln(10^8) = {kappa} × {log} ≈ {iters}。",
    "code.title": "十、本次运行的代码",
    "code.python": "教程的程序，用纯 Python 写成，代入本次运行的数据和设置（输出的参数与 gradfit 相同）：",
    "code.torch": "用 PyTorch 写的同一次运行：自动求导算梯度，torch.optim.SGD 走一步：",
    "code.not_plain": "本次运行使用了{what}；下面的程序在原始数据上运行教程里的普通梯度下降，所以它们的数字与 gradfit 用 "
                      "optimizer 'gd'、不做标准化时的结果相同。",
    "code.standardized": "标准化的特征",
    "dataset.tutorial": "教程",
    "dataset.noisy": "带噪声",
    "code.comment_python": "用纯 Python 写的本次运行：教程里的梯度下降，一步一步。",
    "code.comment_torch": "用 PyTorch 写的本次运行：自动求导算梯度，torch.optim.SGD 走一步。",
    "code.comment_weights": "样本权重",
    "code.comment_no_b": "没有偏置",
    "code.comment_momentum": "动量，PyTorch 的写法：v = mu*v + g",
    "code.comment_chain": "链式法则：d(f - y)^2 = 2(f - y) * d(f - y)",
    "descend.diverges": "为什么发散：在点 x 附近，每一步把到最小值的距离乘以 1 − λ·f''(x)。这里 f''({at}) = {curv}，"
                        "所以 1 − λ·f'' = 1 − {lr} × {curv} = {factor}：|{factor}| > 1，每一步都比上一步冲得更远。"
                        "只有当 λ < 2/f'' = {bound} 时才会收敛。",
    "descend.diverges_many": "为什么发散：在一个点附近，每一步沿 f 的黑塞矩阵的每个特征向量把到最小值的距离乘以 1 − λ·hᵢ。"
                             "这里起点处的最大特征值 h_max = {curv}，所以 1 − λ·h_max = {factor}：|{factor}| > 1。"
                             "只有当 λ < 2/h_max = {bound} 时才会收敛。",
    "descend.no_minimum": "为什么发散：f''({at}) = {curv} ≤ 0，函数在这里向下弯；无论学习率多大，梯度下降都会离开这样的点"
                          "（函数可能没有最小值）。",
    "plot.training": "训练数据",
    "plot.test": "测试数据",
    "plot.iteration": "迭代次数 k",
    "plot.loss_log": "损失（对数坐标）",
    "plot.loss": "损失",
    "plot.loss_title": "每次迭代的损失",
    "plot.path": "下降路径",
    "plot.start": "起点",
    "plot.optimum": "精确最优解",
    "plot.target": "真实值 {name}",
    "plot.predicted": "预测值",
    "plot.steps": "每一步",
    "report.written": "报告已保存到 {path}",
    "report.preset_tutorial": "教程的数据集",
    "report.preset_noisy": "教程的第二个数据集",
    "report.play_title": "动手调学习率和动量",
    "report.play_note": "拖动滑块，浏览器会在本次运行自己的二次损失函数上（它的黑塞矩阵和零点处的梯度决定了每一次迭代）"
                        "从本次运行的起点重新做梯度下降。越过 λ = 2(1 + μ)/h_max 就会发散。",
    "report.lr": "学习率 λ",
    "report.momentum": "动量 μ",
    "report.steps": "步数",
    "report.play_path": "路径",
    "report.converges": "收敛",
    "report.diverges": "发散",
    "console.no_cjk": "提示：当前控制台的编码（{encoding}）无法显示中文，改用英文输出。",
}

MESSAGES: dict[str, dict[str, str]] = {"en": EN, "zh": ZH}


class Options:
    """Option names as the caller writes them: ``o[lr=auto]`` is ``lr='auto'`` to a Python caller and
    ``--lr auto`` on the command line (``voice="cli"``); ``o[standardize=True]`` is ``--standardize``."""

    def __init__(self, voice: str = "python"):
        self.voice = voice

    def __getitem__(self, spec: str) -> str:
        name, _, value = spec.partition("=")
        if self.voice == "cli":
            flag = "--" + name.replace("_", "-")
            return flag if value in ("", "True") else f"{flag} {value}"
        if not value:
            return name
        return f"{name}={value}" if value in ("True", "False", "None") or _is_number(value) else f"{name}={value!r}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def run_limit(sgd: bool, lang: str = "en", voice: str = "python") -> dict[str, str]:
    """The limit a run stops at, in words (``unit``) and as the option that raises it (``limit``): epochs for
    mini-batch SGD, iterations otherwise."""
    unit = ("epoch" if sgd else "iteration") if check_lang(lang) == "en" else ("轮数" if sgd else "迭代次数")
    return {"unit": unit, "limit": Options(voice)["epochs" if sgd else "iters"]}


def check_lang(lang: str) -> str:
    if lang not in MESSAGES:
        raise ConfigError(f"Unknown language {lang!r} (--lang); choose one of: {', '.join(LANGUAGES)}.")
    return lang


def message(key: str, lang: str = "en", voice: str = "python", **values) -> str:
    """The catalogue entry ``key`` in ``lang``, filled with ``values``; options named as ``voice`` writes them."""
    return MESSAGES[check_lang(lang)][key].format(o=Options(voice), **values)

# Early stopping on a held-out fraction (scikit-learn's early_stopping, validation_fraction, n_iter_no_change).
EN |= {
    "verdict.early": "Stopped early after {k}: the error on the held-out {fraction} of the rows had not improved "
                     "for {patience} in a row ({o[early_stopping=True]}); the parameters are the last iterate's, "
                     "not the training optimum.",
    "result.stop_early": "Stopped early after {n} iterations: the error on the held-out validation rows had stopped "
                         "improving.",
}
ZH |= {
    "verdict.early": "{k}后提前停止：留出的 {fraction} 验证样本上的误差已连续 {patience} 没有改进（{o[early_stopping=True]}）；"
                     "参数是最后一步的结果，而不是训练集上的最优解。",
    "result.stop_early": "迭代 {n} 次后提前停止：留出的验证样本上的误差不再改进。",
}

# What the penalty does (explain and the report of a penalized run).
EN |= {
    "pen.title": "What the penalty does",
    "pen.objective": "This run minimises a penalized objective ({kind}, alpha α = {alpha}, l1_ratio ρ = {ratio}), "
                     "in scikit-learn's scaling:",
    "pen.factor": "gradfit's Loss is this objective times c = {c} (2 for the mean loss, 2n for the sum), so the "
                  "minimiser is the same; f below is the data part alone, and at this run's parameters:",
    "pen.run_loss": "the run's Loss",
    "pen.standardized_scale": "The penalty is on the standardized scale: it weighs uⱼ·wⱼ, uⱼ the standard deviation "
                              "of column j (the coefficients are still reported on the given scale):",
    "pen.intercept": "The intercept b is never penalized: it is free to take the means.",
    "pen.enet_l2": "The L2 part adds the curvature κ = {kappa} to every coefficient: a term κ·wⱼ in the gradient "
                   "that pulls each weight towards 0 in proportion to its size.",
    "pen.no_ls": "The data do not determine a unique least-squares solution, so there is no unpenalized w to "
                 "compare the shrinkage with (the penalty is what makes this fit unique).",
    "pen.shrink_intro": "Ridge shrinks. In the eigenbasis of the data part's Hessian (eigenvalues hᵢ, eigenvectors "
                        "vᵢ; with an intercept the columns centred) the penalty adds κ = {kappa} to every "
                        "eigenvalue, so each component of the least-squares w is multiplied by hᵢ/(hᵢ + κ): "
                        "directions the data determine well (large hᵢ) barely move, poorly determined ones (small "
                        "hᵢ) shrink towards 0.",
    "pen.times_factor": "× factor",
    "pen.this_run": "this run",
    "pen.from_factors": "from the factors",
    "pen.parameter": "parameter",
    "pen.shrink_coefs": "Each coefficient against the unpenalized one (w_ls, the least-squares fit of the same data), "
                        "and the same w rebuilt from the factors:",
    "pen.shrink_check": "The w rebuilt from the factors and this run's w differ by at most {gap}. The factors run from "
                        "{most} (shrunk most) to {least}.",
    "pen.kink": "The L1 part τ·|w| has a kink at 0: its slope is −τ left of 0 and +τ right of it, and at 0 every "
                "slope between is allowed. A gradient step cannot land on the kink, so the descent takes the "
                "gradient step of the smooth part f and then the soft-threshold S, which moves each parameter "
                "towards 0 by λ·τ and stops at exactly 0 (ISTA; FISTA adds momentum):",
    "pen.step_of_run": "One iteration of this run, from k = {k} to k = {k1}, with its own numbers:",
    "pen.step_at_result": "This run descended by another rule ({optimizer}), so here is ISTA's step taken from the "
                          "result: at the optimum it leaves the parameters where they are.",
    "pen.step_standardized": "This run descended on standardized coordinates, so here is ISTA's step on the "
                             "parameters as given, taken from the result: at the optimum it leaves them where they are.",
    "pen.step_cut": "Here the threshold is larger than |z| for {names}: the step sets it to exactly 0.",
    "pen.step_agrees": "S(z, λτ) computed here and the θ_(k+1) the run recorded differ by at most {gap}.",
    "pen.zero_rule": "Which coefficients are exactly 0, and why: at wⱼ = 0 the kink lets any slope in [−τⱼ, τⱼ] "
                     "balance the data's pull, so wⱼ stays 0 as long as |∂f/∂wⱼ| ≤ τⱼ (scikit-learn's "
                     "|∂L/∂wⱼ| ≤ α·ρ, times c). A non-zero wⱼ sits where the pull is exactly τⱼ:",
    "pen.status": "status",
    "pen.is_zero": "0: |∂f/∂wⱼ| ≤ τⱼ",
    "pen.nonzero": "≠ 0: ∂f/∂wⱼ = −τⱼ·sign(wⱼ)",
    "pen.not_yet": "(not yet: the run has not converged)",
    "pen.zero_count": "{k} of {d} coefficients are exactly 0: {names}.",
    "pen.path": "The coefficients along α (the same penalty, fitted again at each α from the data's summary; this "
                "run's α is {alpha}). Large α: every weight at 0; small α: the least-squares fit. The figure "
                "'coefficient path' draws it:",
    "pen.nonzero_count": "non-zero",
    "plots.path_title": "Each coefficient as α grows ({kind})",
    "plots.path_x": "α (log scale)",
    "plots.path_y": "coefficient",
    "plots.path_run": "this run's α",
    "report.path": "Coefficient path",
    "report.path_note": "Each coefficient fitted again along α (log scale); the dashed line is this run's α.",
    "step.soft_threshold": "With the L1 penalty the step above is the smooth part's only: the parameters it gives are "
                           "then soft-thresholded, each moved towards 0 by λτ = {t} and stopped at 0 (see 'What the "
                           "penalty does'), so the θ₁ of this run is:",
}
ZH |= {
    "pen.title": "惩罚项做了什么",
    "pen.objective": "本次运行最小化的是带惩罚的目标函数（{kind}，α = {alpha}，l1_ratio ρ = {ratio}），采用 scikit-learn 的缩放：",
    "pen.factor": "gradfit 的损失函数等于这个目标函数乘以 c = {c}（均值损失为 2，求和损失为 2n），因此最小值点相同；"
                  "下面的 f 只表示数据部分。在本次运行的参数处：",
    "pen.run_loss": "本次运行的损失",
    "pen.standardized_scale": "惩罚作用在标准化的尺度上：它惩罚 uⱼ·wⱼ，uⱼ 是第 j 列的标准差（系数仍按原始尺度报告）：",
    "pen.intercept": "截距 b 从不受惩罚：它可以自由地取均值。",
    "pen.enet_l2": "L2 部分给每个系数加上曲率 κ = {kappa}：梯度中多出一项 κ·wⱼ，按大小把每个权重拉向 0。",
    "pen.no_ls": "数据不能确定唯一的最小二乘解，因此没有不加惩罚的 w 可以用来比较收缩（正是惩罚项使这次拟合的解唯一）。",
    "pen.shrink_intro": "岭回归会收缩系数。在数据部分 Hessian 矩阵的特征基下（特征值 hᵢ，特征向量 vᵢ；有截距时先把各列中心化），"
                        "惩罚项给每个特征值加上 κ = {kappa}，所以最小二乘解 w 的每个分量都乘以 hᵢ/(hᵢ + κ)："
                        "数据确定得好的方向（hᵢ 大）几乎不动，确定得差的方向（hᵢ 小）被收缩到接近 0。",
    "pen.times_factor": "× 因子",
    "pen.this_run": "本次运行",
    "pen.from_factors": "由因子重建",
    "pen.parameter": "参数",
    "pen.shrink_coefs": "每个系数与不加惩罚的系数（w_ls，同一数据的最小二乘拟合）对比，以及由因子重建的 w：",
    "pen.shrink_check": "由因子重建的 w 与本次运行的 w 最多相差 {gap}。因子从 {most}（收缩最多）到 {least}。",
    "pen.kink": "L1 部分 τ·|w| 在 0 处有一个尖点：0 的左边斜率为 −τ，右边为 +τ，在 0 处介于两者之间的任何斜率都可以。"
                "梯度步无法恰好落在尖点上，所以下降先对光滑部分 f 走一步梯度步，再做软阈值 S：把每个参数向 0 移动 λ·τ，"
                "并恰好停在 0（ISTA；FISTA 再加上动量）：",
    "pen.step_of_run": "本次运行的一次迭代，从 k = {k} 到 k = {k1}，用它自己的数字：",
    "pen.step_at_result": "本次运行用的是另一种更新规则（{optimizer}），所以这里给出从结果出发的一步 ISTA："
                          "在最优点处它让参数保持不变。",
    "pen.step_standardized": "本次运行是在标准化坐标上下降的，所以这里给出在原始参数上、从结果出发的一步 ISTA："
                             "在最优点处它让参数保持不变。",
    "pen.step_cut": "这里阈值大于 {names} 的 |z|：这一步把它恰好设为 0。",
    "pen.step_agrees": "这里算出的 S(z, λτ) 与运行记录的 θ_(k+1) 最多相差 {gap}。",
    "pen.zero_rule": "哪些系数恰好为 0，为什么：在 wⱼ = 0 处，尖点允许 [−τⱼ, τⱼ] 中的任何斜率来抵消数据的拉力，"
                     "所以只要 |∂f/∂wⱼ| ≤ τⱼ，wⱼ 就停在 0（即 scikit-learn 的 |∂L/∂wⱼ| ≤ α·ρ，乘以 c）。"
                     "非零的 wⱼ 停在拉力恰好等于 τⱼ 的地方：",
    "pen.status": "状态",
    "pen.is_zero": "0：|∂f/∂wⱼ| ≤ τⱼ",
    "pen.nonzero": "≠ 0：∂f/∂wⱼ = −τⱼ·sign(wⱼ)",
    "pen.not_yet": "（尚未满足：运行还没有收敛）",
    "pen.zero_count": "{d} 个系数中有 {k} 个恰好为 0：{names}。",
    "pen.path": "系数随 α 的变化（同一种惩罚，在每个 α 处由数据的汇总重新拟合；本次运行的 α 为 {alpha}）。"
                "α 很大时所有权重都为 0；α 很小时就是最小二乘拟合。图“系数路径”画出了它：",
    "pen.nonzero_count": "非零个数",
    "plots.path_title": "每个系数随 α 增大的变化（{kind}）",
    "plots.path_x": "α（对数刻度）",
    "plots.path_y": "系数",
    "plots.path_run": "本次运行的 α",
    "report.path": "系数路径",
    "report.path_note": "沿 α（对数刻度）重新拟合的每个系数；虚线是本次运行的 α。",
    "step.soft_threshold": "有 L1 惩罚时，上面的一步只是光滑部分的梯度步：得到的参数还要做软阈值，每个都向 0 移动 λτ = {t}，"
                           "并停在 0（见“惩罚项做了什么”），所以本次运行的 θ₁ 是：",
}

# A fit that diverged (the DivergenceError's message) and a column that cannot be standardized (a warning).
EN |= {
    "error.diverged": "Gradient descent diverged: after {n} {unit} the loss {what} (it started at {loss0}). The learning "
                      "rate {lr} is too large for these data: gradient descent converges only for a learning rate "
                      "below 2/h_max ≈ {stable} (h_max = {curv}, the largest eigenvalue of the loss's Hessian). Use "
                      "a smaller learning rate, or lr='auto' (--lr auto).",
    "error.iteration": "iteration",
    "error.iterations": "iterations",
    "error.diverged_nan": "is no longer a finite number",
    "error.diverged_grew": "grew to {loss}",
    "warn.constant_column": "Constant {unit} {names} cannot be standardized (standard deviation 0): left unscaled; "
                            "with an intercept its weight stays 0. Drop it, or fit without --standardize.",
    "warn.column": "column",
    "warn.columns": "columns",
}
ZH |= {
    "error.diverged": "梯度下降发散了：{n} {unit}后损失{what}（初始值为 {loss0}）。学习率 {lr} 对这些数据太大：只有学习率小于 "
                      "2/h_max ≈ {stable} 时梯度下降才收敛（h_max = {curv}，损失函数 Hessian 矩阵的最大特征值）。"
                      "请用更小的学习率，或 lr='auto'（--lr auto）。",
    "error.iteration": "次迭代",
    "error.iterations": "次迭代",
    "error.diverged_nan": "已不再是有限的数",
    "error.diverged_grew": "增长到 {loss}",
    "warn.constant_column": "常数{unit} {names} 无法标准化（标准差为 0）：保持原尺度；有截距时其权重保持为 0。"
                            "请删去该列，或不用 --standardize 拟合。",
    "warn.column": "列",
    "warn.columns": "列",
}

# Checkpoints of another layout (gradfit.training.checkpoint.VERSION), and one without its data's fingerprint.
EN |= {
    "checkpoint.older": "'{path}' was written by an older gradfit (checkpoint layout {found}; this gradfit reads layout "
                        "{current}). Start the run again without --resume, or resume it with the gradfit version "
                        "that wrote it.",
    "checkpoint.newer": "'{path}' was written by a newer gradfit (checkpoint layout {found}; this gradfit reads layout "
                        "{current}). Resume it with that version (or upgrade gradfit), or start the run again without "
                        "--resume.",
    "checkpoint.not_one": "'{path}' is not a gradfit checkpoint (it has no \"format\": \"gradfit.checkpoint\" and "
                          "layout number). Give the file that --checkpoint wrote, or start the run again without "
                          "--resume.",
    "checkpoint.no_fingerprint": "'{path}' does not record the data it was written for (no 'data' fingerprint), so "
                                 "resuming could continue on other data. Start the run again without --resume.",
}
ZH |= {
    "checkpoint.older": "'{path}' 是较旧版本的 gradfit 写的（检查点格式 {found}；本版本读取格式 {current}）。"
                        "请去掉 --resume 重新开始训练，或用写它的那个 gradfit 版本继续。",
    "checkpoint.newer": "'{path}' 是较新版本的 gradfit 写的（检查点格式 {found}；本版本读取格式 {current}）。"
                        "请用那个版本（或升级 gradfit）继续，或去掉 --resume 重新开始训练。",
    "checkpoint.not_one": "'{path}' 不是 gradfit 的检查点（没有 \"format\": \"gradfit.checkpoint\" 和格式编号）。"
                          "请给出 --checkpoint 写的文件，或去掉 --resume 重新开始训练。",
    "checkpoint.no_fingerprint": "'{path}' 没有记录它所对应的数据（缺少 'data' 指纹），继续训练可能会用到别的数据。"
                                 "请去掉 --resume 重新开始训练。",
}
